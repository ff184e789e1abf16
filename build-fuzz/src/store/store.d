build-fuzz/src/store/store.o: src/store/store.c \
  src/store/store-internal.h src/store/store-private.h src/store/store.h \
  src/lib/alloc.h src/lib/log.h src/mail/mime-index.h

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/lib/alloc.h:

src/lib/log.h:

src/mail/mime-index.h:
