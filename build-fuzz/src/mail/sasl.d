build-fuzz/src/mail/sasl.o: src/mail/sasl.c src/mail/sasl.h \
  src/lib/alloc.h src/lib/base64.h

src/mail/sasl.h:

src/lib/alloc.h:

src/lib/base64.h:
