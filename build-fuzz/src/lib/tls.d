build-fuzz/src/lib/tls.o: src/lib/tls.c src/lib/conn.h src/lib/log.h \
  src/lib/alloc.h

src/lib/conn.h:

src/lib/log.h:

src/lib/alloc.h:
