build-fuzz/src/pop3/pop3-expire.o: src/pop3/pop3-expire.c \
  src/pop3/pop3-private.h src/lib/alloc.h src/lib/log.h \
  src/store/store-pop3.h src/store/store.h

src/pop3/pop3-private.h:

src/lib/alloc.h:

src/lib/log.h:

src/store/store-pop3.h:

src/store/store.h:
