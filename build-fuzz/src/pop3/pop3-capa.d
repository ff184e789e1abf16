build-fuzz/src/pop3/pop3-capa.o: src/pop3/pop3-capa.c \
  src/pop3/pop3-private.h src/lib/conn.h src/lib/log.h

src/pop3/pop3-private.h:

src/lib/conn.h:

src/lib/log.h:
