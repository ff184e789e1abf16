build-fuzz/src/cli/cmd-init.o: src/cli/cmd-init.c src/cli/cli.h \
  src/lib/alloc.h src/lib/config.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/lib/config.h:

src/store/store.h:
