build-fuzz/src/lib/conn-listen.o: src/lib/conn-listen.c src/lib/conn.h \
  src/lib/log.h src/lib/conn-internal.h src/lib/alloc.h

src/lib/conn.h:

src/lib/log.h:

src/lib/conn-internal.h:

src/lib/alloc.h:
