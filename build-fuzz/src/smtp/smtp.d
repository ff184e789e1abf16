build-fuzz/src/smtp/smtp.o: src/smtp/smtp.c src/smtp/smtp.h \
  src/smtp/smtp-parse.h src/smtp/smtp-session.h src/lib/buf.h \
  src/store/delivery.h src/store/store.h src/lib/alloc.h \
  src/lib/config.h src/lib/conn.h src/lib/log.h

src/smtp/smtp.h:

src/smtp/smtp-parse.h:

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:

src/lib/alloc.h:

src/lib/config.h:

src/lib/conn.h:

src/lib/log.h:
