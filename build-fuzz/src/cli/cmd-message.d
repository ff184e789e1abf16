build-fuzz/src/cli/cmd-message.o: src/cli/cmd-message.c src/cli/cli.h \
  src/lib/alloc.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/store/store.h:
