build-fuzz/src/smtp/smtp-cmd-rcpt.o: src/smtp/smtp-cmd-rcpt.c \
  src/smtp/smtp-session.h src/lib/buf.h src/store/delivery.h \
  src/store/store.h src/smtp/smtp-parse.h src/lib/alloc.h src/lib/conn.h \
  src/lib/log.h src/mail/address.h

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:

src/smtp/smtp-parse.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/mail/address.h:
