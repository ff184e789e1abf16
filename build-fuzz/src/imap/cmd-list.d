build-fuzz/src/imap/cmd-list.o: src/imap/cmd-list.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/lib/alloc.h \
  src/mail/mailbox-name.h src/store/store.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/alloc.h:

src/mail/mailbox-name.h:

src/store/store.h:
