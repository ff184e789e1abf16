build-fuzz/src/mail/mime-envelope.o: src/mail/mime-envelope.c \
  src/mail/mime-index-private.h src/mail/mime-index.h src/lib/buf.h \
  src/mail/imap-quote.h src/lib/alloc.h

src/mail/mime-index-private.h:

src/mail/mime-index.h:

src/lib/buf.h:

src/mail/imap-quote.h:

src/lib/alloc.h:
