build-fuzz/src/daemon/privdrop.o: src/daemon/privdrop.c \
  src/daemon/privdrop.h src/lib/alloc.h

src/daemon/privdrop.h:

src/lib/alloc.h:
