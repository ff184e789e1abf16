build-fuzz/src/cli/cmd-mailbox.o: src/cli/cmd-mailbox.c src/cli/cli.h \
  src/lib/alloc.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/store/store.h:
