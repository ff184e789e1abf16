build-fuzz/src/imap/cmd-append.o: src/imap/cmd-append.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-date.h \
  src/imap/imap-flags.h src/imap/imap-op.h src/store/store.h \
  src/lib/alloc.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-date.h:

src/imap/imap-flags.h:

src/imap/imap-op.h:

src/store/store.h:

src/lib/alloc.h:
