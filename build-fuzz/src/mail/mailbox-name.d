build-fuzz/src/mail/mailbox-name.o: src/mail/mailbox-name.c \
  src/mail/mailbox-name.h src/lib/alloc.h src/lib/buf.h

src/mail/mailbox-name.h:

src/lib/alloc.h:

src/lib/buf.h:
