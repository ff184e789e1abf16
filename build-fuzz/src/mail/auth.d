build-fuzz/src/mail/auth.o: src/mail/auth.c src/mail/auth.h \
  src/lib/alloc.h src/lib/workers.h src/mail/address.h src/store/store.h

src/mail/auth.h:

src/lib/alloc.h:

src/lib/workers.h:

src/mail/address.h:

src/store/store.h:
