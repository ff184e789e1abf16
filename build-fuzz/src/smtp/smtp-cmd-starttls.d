build-fuzz/src/smtp/smtp-cmd-starttls.o: src/smtp/smtp-cmd-starttls.c \
  src/smtp/smtp-session.h src/lib/buf.h src/store/delivery.h \
  src/store/store.h src/lib/conn.h src/lib/log.h

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:

src/lib/conn.h:

src/lib/log.h:
