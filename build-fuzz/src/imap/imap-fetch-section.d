build-fuzz/src/imap/imap-fetch-section.o: src/imap/imap-fetch-section.c \
  src/imap/imap-fetch-section.h src/imap/imap-parser.h src/lib/alloc.h \
  src/lib/buf.h

src/imap/imap-fetch-section.h:

src/imap/imap-parser.h:

src/lib/alloc.h:

src/lib/buf.h:
