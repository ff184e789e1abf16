build-fuzz/src/imap/cmd-authenticate.o: src/imap/cmd-authenticate.c \
  src/imap/imap-auth.h src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/lib/alloc.h src/lib/conn.h \
  src/lib/log.h src/mail/sasl.h

src/imap/imap-auth.h:

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/mail/sasl.h:
