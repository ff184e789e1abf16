build-fuzz/src/smtp/smtp-cmd.o: src/smtp/smtp-cmd.c \
  src/smtp/smtp-session.h src/lib/buf.h src/store/delivery.h \
  src/store/store.h

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:
