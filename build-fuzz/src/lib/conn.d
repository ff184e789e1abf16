build-fuzz/src/lib/conn.o: src/lib/conn.c src/lib/conn.h src/lib/log.h \
  src/lib/conn-internal.h src/lib/alloc.h

src/lib/conn.h:

src/lib/log.h:

src/lib/conn-internal.h:

src/lib/alloc.h:
