build-fuzz/src/store/store-op-flags.o: src/store/store-op-flags.c \
  src/store/store-ops.h src/store/store-internal.h \
  src/store/store-private.h src/store/store.h src/mail/mime-index.h \
  src/lib/alloc.h src/lib/buf.h

src/store/store-ops.h:

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/mail/mime-index.h:

src/lib/alloc.h:

src/lib/buf.h:
