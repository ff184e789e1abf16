build-fuzz/src/pop3/pop3.o: src/pop3/pop3.c src/pop3/pop3.h \
  src/pop3/pop3-private.h src/lib/alloc.h src/lib/config.h \
  src/lib/conn.h src/lib/log.h

src/pop3/pop3.h:

src/pop3/pop3-private.h:

src/lib/alloc.h:

src/lib/config.h:

src/lib/conn.h:

src/lib/log.h:
