build-fuzz/src/pop3/pop3-commands.o: src/pop3/pop3-commands.c \
  src/pop3/pop3-private.h

src/pop3/pop3-private.h:
