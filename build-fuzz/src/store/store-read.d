build-fuzz/src/store/store-read.o: src/store/store-read.c \
  src/store/store-internal.h src/store/store-private.h src/store/store.h \
  src/lib/alloc.h

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/lib/alloc.h:
