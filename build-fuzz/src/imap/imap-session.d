build-fuzz/src/imap/imap-session.o: src/imap/imap-session.c \
  src/imap/imap-session.h src/imap/imap-parser.h src/lib/buf.h \
  src/imap/imap-commands.h src/imap/imap-sync.h src/imap/imap-view.h \
  src/lib/alloc.h src/lib/conn.h src/lib/log.h src/mail/imap-quote.h \
  src/mail/mailbox-name.h src/store/store.h

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-commands.h:

src/imap/imap-sync.h:

src/imap/imap-view.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/mail/imap-quote.h:

src/mail/mailbox-name.h:

src/store/store.h:
