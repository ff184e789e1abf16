build-fuzz/src/pop3/pop3-maildrop.o: src/pop3/pop3-maildrop.c \
  src/pop3/pop3-private.h src/lib/alloc.h src/lib/conn.h src/lib/log.h \
  src/store/store.h

src/pop3/pop3-private.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/store/store.h:
