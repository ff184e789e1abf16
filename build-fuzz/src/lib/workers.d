build-fuzz/src/lib/workers.o: src/lib/workers.c src/lib/workers.h \
  src/lib/alloc.h

src/lib/workers.h:

src/lib/alloc.h:
