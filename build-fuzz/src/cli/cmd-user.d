build-fuzz/src/cli/cmd-user.o: src/cli/cmd-user.c src/cli/cli.h \
  src/lib/alloc.h src/lib/config.h src/mail/auth.h src/store/store.h

src/cli/cli.h:

src/lib/alloc.h:

src/lib/config.h:

src/mail/auth.h:

src/store/store.h:
