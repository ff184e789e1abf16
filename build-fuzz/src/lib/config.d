build-fuzz/src/lib/config.o: src/lib/config.c src/lib/config.h \
  src/lib/alloc.h src/lib/log.h

src/lib/config.h:

src/lib/alloc.h:

src/lib/log.h:
