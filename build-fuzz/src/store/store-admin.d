build-fuzz/src/store/store-admin.o: src/store/store-admin.c \
  src/store/store-ops.h src/store/store-internal.h \
  src/store/store-private.h src/store/store.h src/mail/mime-index.h \
  src/lib/alloc.h src/mail/address.h

src/store/store-ops.h:

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/mail/mime-index.h:

src/lib/alloc.h:

src/mail/address.h:
