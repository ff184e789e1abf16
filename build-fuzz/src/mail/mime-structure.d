build-fuzz/src/mail/mime-structure.o: src/mail/mime-structure.c \
  src/mail/mime-index-private.h src/mail/mime-index.h src/lib/buf.h \
  src/mail/imap-quote.h

src/mail/mime-index-private.h:

src/mail/mime-index.h:

src/lib/buf.h:

src/mail/imap-quote.h:
