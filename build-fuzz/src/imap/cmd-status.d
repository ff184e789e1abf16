build-fuzz/src/imap/cmd-status.o: src/imap/cmd-status.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/lib/alloc.h \
  src/imap/imap-view.h src/store/store-recent.h src/store/store.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/alloc.h:

src/imap/imap-view.h:

src/store/store-recent.h:

src/store/store.h:
