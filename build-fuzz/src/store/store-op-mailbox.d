build-fuzz/src/store/store-op-mailbox.o: src/store/store-op-mailbox.c \
  src/store/store-ops.h src/store/store-internal.h \
  src/store/store-private.h src/store/store.h src/mail/mime-index.h \
  src/lib/alloc.h

src/store/store-ops.h:

src/store/store-internal.h:

src/store/store-private.h:

src/store/store.h:

src/mail/mime-index.h:

src/lib/alloc.h:
