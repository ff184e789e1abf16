build-fuzz/src/store/delivery.o: src/store/delivery.c \
  src/store/delivery.h src/store/store.h src/lib/alloc.h \
  src/mail/address.h

src/store/delivery.h:

src/store/store.h:

src/lib/alloc.h:

src/mail/address.h:
