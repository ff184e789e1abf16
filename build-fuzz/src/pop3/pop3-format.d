build-fuzz/src/pop3/pop3-format.o: src/pop3/pop3-format.c \
  src/pop3/pop3-private.h src/lib/buf.h

src/pop3/pop3-private.h:

src/lib/buf.h:
