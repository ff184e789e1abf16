build-fuzz/src/pop3/pop3-session.o: src/pop3/pop3-session.c \
  src/pop3/pop3-private.h src/lib/alloc.h src/lib/conn.h src/lib/log.h \
  src/store/store.h

src/pop3/pop3-private.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/store/store.h:
