build-fuzz/src/store/store-schema.o: src/store/store-schema.c \
  src/store/store-internal.h src/store/store-private.h src/store/store.h \
  src/lib/alloc.h

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/lib/alloc.h:
