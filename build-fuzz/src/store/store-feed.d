build-fuzz/src/store/store-feed.o: src/store/store-feed.c \
  src/store/store-internal.h src/store/store-private.h src/store/store.h \
  src/lib/alloc.h

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/lib/alloc.h:
