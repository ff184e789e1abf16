build-fuzz/src/cli/cli-password.o: src/cli/cli-password.c src/cli/cli.h \
  src/lib/alloc.h src/mail/auth.h

src/cli/cli.h:

src/lib/alloc.h:

src/mail/auth.h:
