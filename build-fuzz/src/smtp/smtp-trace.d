build-fuzz/src/smtp/smtp-trace.o: src/smtp/smtp-trace.c \
  src/smtp/smtp-session.h src/lib/buf.h src/store/delivery.h \
  src/store/store.h src/lib/alloc.h

src/smtp/smtp-session.h:

src/lib/buf.h:

src/store/delivery.h:

src/store/store.h:

src/lib/alloc.h:
