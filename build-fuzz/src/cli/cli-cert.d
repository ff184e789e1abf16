build-fuzz/src/cli/cli-cert.o: src/cli/cli-cert.c src/cli/cli.h \
  src/lib/alloc.h

src/cli/cli.h:

src/lib/alloc.h:
