build-fuzz/src/pop3/pop3-auth.o: src/pop3/pop3-auth.c \
  src/pop3/pop3-private.h src/lib/alloc.h src/lib/conn.h src/lib/log.h \
  src/mail/auth.h src/mail/sasl.h src/store/store.h

src/pop3/pop3-private.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:

src/mail/auth.h:

src/mail/sasl.h:

src/store/store.h:
