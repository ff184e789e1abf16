build-fuzz/src/imap/cmd-fetch.o: src/imap/cmd-fetch.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-date.h \
  src/imap/imap-fetch-section.h src/imap/imap-flags.h src/imap/imap-op.h \
  src/store/store.h src/imap/imap-view.h src/lib/alloc.h src/lib/conn.h \
  src/lib/log.h src/store/store-imap.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-date.h:

src/imap/imap-fetch-section.h:

src/imap/imap-flags.h:

src/imap/imap-op.h:

src/store/store.h:

src/imap/imap-view.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/store/store-imap.h:
