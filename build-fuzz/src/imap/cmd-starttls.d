build-fuzz/src/imap/cmd-starttls.o: src/imap/cmd-starttls.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/lib/conn.h src/lib/log.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/conn.h:

src/lib/log.h:
