build-fuzz/src/smtp/smtp-deliver.o: src/smtp/smtp-deliver.c \
  src/smtp/smtp-session.h src/lib/buf.h src/store/delivery.h \
  src/store/store.h src/lib/conn.h src/lib/log.h

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:

src/lib/conn.h:

src/lib/log.h:
