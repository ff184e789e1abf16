build-fuzz/src/store/store-pop3.o: src/store/store-pop3.c \
  src/store/store-pop3.h src/store/store.h src/store/store-private.h \
  src/lib/alloc.h

src/store/store-pop3.h:

src/store/store.h:

src/store/store-private.h:

src/lib/alloc.h:
