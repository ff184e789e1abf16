build-fuzz/src/pop3/pop3-lock.o: src/pop3/pop3-lock.c \
  src/pop3/pop3-private.h src/lib/alloc.h

src/pop3/pop3-private.h:

src/lib/alloc.h:
