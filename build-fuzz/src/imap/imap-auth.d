build-fuzz/src/imap/imap-auth.o: src/imap/imap-auth.c \
  src/imap/imap-auth.h src/imap/imap-session.h src/imap/imap-parser.h \
  src/lib/buf.h src/lib/alloc.h src/lib/conn.h src/lib/log.h \
  src/mail/auth.h

src/imap/imap-auth.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/mail/auth.h:
