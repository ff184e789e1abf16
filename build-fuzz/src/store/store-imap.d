build-fuzz/src/store/store-imap.o: src/store/store-imap.c \
  src/store/store-imap.h src/store/store.h src/store/store-private.h \
  src/lib/alloc.h

src/store/store-imap.h:

src/store/store.h:

src/store/store-private.h:

src/lib/alloc.h:
