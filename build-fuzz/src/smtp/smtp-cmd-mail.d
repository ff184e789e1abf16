build-fuzz/src/smtp/smtp-cmd-mail.o: src/smtp/smtp-cmd-mail.c \
  src/smtp/smtp-session.h src/lib/buf.h src/store/delivery.h \
  src/store/store.h src/smtp/smtp-parse.h src/lib/alloc.h src/lib/conn.h \
  src/lib/log.h

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:

src/smtp/smtp-parse.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:
