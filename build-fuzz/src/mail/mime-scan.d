build-fuzz/src/mail/mime-scan.o: src/mail/mime-scan.c \
  src/mail/mime-index-private.h src/mail/mime-index.h src/lib/buf.h \
  src/lib/alloc.h

src/mail/mime-index-private.h:

src/mail/mime-index.h:

src/lib/buf.h:

src/lib/alloc.h:
