build-fuzz/src/imap/imap-sync.o: src/imap/imap-sync.c \
  src/imap/imap-sync.h src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-flags.h \
  src/imap/imap-view.h src/lib/alloc.h src/store/store-imap.h \
  src/store/store.h src/store/store-recent.h

src/imap/imap-sync.h:

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-flags.h:

src/imap/imap-view.h:

src/lib/alloc.h:

src/store/store-imap.h:

src/store/store.h:

src/store/store-recent.h:
