build-fuzz/src/lib/base64.o: src/lib/base64.c src/lib/base64.h \
  src/lib/alloc.h

src/lib/base64.h:

src/lib/alloc.h:
