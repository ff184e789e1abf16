build-fuzz/src/cli/cmd-deliver.o: src/cli/cmd-deliver.c src/cli/cli.h \
  src/lib/alloc.h src/lib/buf.h src/lib/config.h src/mail/address.h \
  src/store/delivery.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/lib/buf.h:

src/lib/config.h:

src/mail/address.h:

src/store/delivery.h:

src/store/store.h:
