build-fuzz/src/cli/cmd-domain.o: src/cli/cmd-domain.c src/cli/cli.h \
  src/lib/alloc.h src/mail/address.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/mail/address.h:

src/store/store.h:
