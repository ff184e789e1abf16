build-fuzz/src/imap/imap-view.o: src/imap/imap-view.c \
  src/imap/imap-view.h src/imap/imap-session.h src/imap/imap-parser.h \
  src/lib/buf.h src/imap/imap-seqset.h src/imap/imap-sync.h \
  src/imap/imap-flags.h src/lib/alloc.h src/store/store.h

src/imap/imap-view.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-seqset.h:

src/imap/imap-sync.h:

src/imap/imap-flags.h:

src/lib/alloc.h:

src/store/store.h:
