build-fuzz/src/cli/cli.o: src/cli/cli.c src/cli/cli.h src/lib/alloc.h \
  src/mail/address.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/mail/address.h:

src/store/store.h:
