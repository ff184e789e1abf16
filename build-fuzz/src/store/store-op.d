build-fuzz/src/store/store-op.o: src/store/store-op.c \
  src/store/store-internal.h src/store/store-private.h src/store/store.h \
  src/store/store-ops.h src/mail/mime-index.h src/lib/alloc.h \
  src/mail/crlf.h

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/store/store-ops.h:

src/mail/mime-index.h:

src/lib/alloc.h:

src/mail/crlf.h:
