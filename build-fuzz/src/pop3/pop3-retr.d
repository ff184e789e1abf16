build-fuzz/src/pop3/pop3-retr.o: src/pop3/pop3-retr.c \
  src/pop3/pop3-private.h src/lib/alloc.h src/lib/buf.h src/lib/conn.h \
  src/lib/log.h src/store/store.h

src/pop3/pop3-private.h:

src/lib/alloc.h:

src/lib/buf.h:

src/lib/conn.h:

src/lib/log.h:

src/store/store.h:
