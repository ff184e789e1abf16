build-fuzz/src/store/store-writer.o: src/store/store-writer.c \
  src/store/store-internal.h src/store/store-private.h src/store/store.h \
  src/lib/alloc.h src/lib/log.h

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/lib/alloc.h:

src/lib/log.h:
