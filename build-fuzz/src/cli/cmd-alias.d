build-fuzz/src/cli/cmd-alias.o: src/cli/cmd-alias.c src/cli/cli.h \
  src/lib/alloc.h src/mail/address.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/mail/address.h:

src/store/store.h:
