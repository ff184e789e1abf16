build-fuzz/src/imap/imap-flags.o: src/imap/imap-flags.c \
  src/imap/imap-flags.h src/imap/imap-parser.h src/lib/alloc.h \
  src/lib/buf.h src/store/store.h

src/imap/imap-flags.h:

src/imap/imap-parser.h:

src/lib/alloc.h:

src/lib/buf.h:

src/store/store.h:
