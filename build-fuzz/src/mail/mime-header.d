build-fuzz/src/mail/mime-header.o: src/mail/mime-header.c \
  src/mail/mime-index-private.h src/mail/mime-index.h src/lib/buf.h

src/mail/mime-index-private.h:

src/mail/mime-index.h:

src/lib/buf.h:
