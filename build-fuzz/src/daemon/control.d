build-fuzz/src/daemon/control.o: src/daemon/control.c \
  src/daemon/control.h src/cli/cli.h src/lib/alloc.h src/lib/config.h \
  src/lib/log.h

src/daemon/control.h:

src/cli/cli.h:

src/lib/alloc.h:

src/lib/config.h:

src/lib/log.h:
