build-fuzz/src/imap/imap.o: src/imap/imap.c src/imap/imap.h \
  src/imap/imap-session.h src/imap/imap-parser.h src/lib/buf.h \
  src/lib/config.h src/lib/conn.h src/lib/log.h src/mail/auth.h

src/imap/imap.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/config.h:

src/lib/conn.h:

src/lib/log.h:

src/mail/auth.h:
