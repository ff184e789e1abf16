build-fuzz/src/imap/cmd-logout.o: src/imap/cmd-logout.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/lib/conn.h src/lib/log.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/conn.h:

src/lib/log.h:
