build-fuzz/src/daemon/control-client.o: src/daemon/control-client.c \
  src/cli/cli.h src/daemon/control.h src/lib/alloc.h

src/cli/cli.h:

src/daemon/control.h:

src/lib/alloc.h:
