build-fuzz/src/imap/imap-parser.o: src/imap/imap-parser.c \
  src/imap/imap-parser.h src/lib/alloc.h

src/imap/imap-parser.h:

src/lib/alloc.h:
