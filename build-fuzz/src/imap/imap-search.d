build-fuzz/src/imap/imap-search.o: src/imap/imap-search.c \
  src/imap/imap-search.h src/imap/imap-parser.h src/imap/imap-date.h \
  src/imap/imap-search-text.h src/imap/imap-seqset.h \
  src/imap/imap-session.h src/lib/buf.h src/imap/imap-view.h \
  src/lib/alloc.h src/store/store-imap.h src/store/store.h

src/imap/imap-search.h:

src/imap/imap-parser.h:

src/imap/imap-date.h:

src/imap/imap-search-text.h:

src/imap/imap-seqset.h:

src/imap/imap-session.h:

src/lib/buf.h:

src/imap/imap-view.h:

src/lib/alloc.h:

src/store/store-imap.h:

src/store/store.h:
