build-fuzz/src/store/store-op-deliver.o: src/store/store-op-deliver.c \
  src/store/store-ops.h src/store/store-internal.h \
  src/store/store-private.h src/store/store.h src/mail/mime-index.h \
  src/lib/alloc.h

src/store/store-ops.h:

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/mail/mime-index.h:

src/lib/alloc.h:
