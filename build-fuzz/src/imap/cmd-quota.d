build-fuzz/src/imap/cmd-quota.o: src/imap/cmd-quota.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/store/store.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/store/store.h:
