build-fuzz/src/daemon/control-wire.o: src/daemon/control-wire.c \
  src/daemon/control.h src/lib/alloc.h

src/daemon/control.h:

src/lib/alloc.h:
