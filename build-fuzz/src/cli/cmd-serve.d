build-fuzz/src/cli/cmd-serve.o: src/cli/cmd-serve.c src/cli/cli.h \
  src/daemon/serve.h src/lib/config.h

src/cli/cli.h:

src/daemon/serve.h:

src/lib/config.h:
