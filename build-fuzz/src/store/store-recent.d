build-fuzz/src/store/store-recent.o: src/store/store-recent.c \
  src/store/store-recent.h src/store/store.h src/store/store-private.h

src/store/store-recent.h:

src/store/store.h:

src/store/store-private.h:
