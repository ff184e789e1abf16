build-fuzz/src/mail/address.o: src/mail/address.c src/mail/address.h \
  src/lib/alloc.h

src/mail/address.h:

src/lib/alloc.h:
