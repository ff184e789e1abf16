build-fuzz/src/mail/imap-quote.o: src/mail/imap-quote.c \
  src/mail/imap-quote.h src/lib/buf.h

src/mail/imap-quote.h:

src/lib/buf.h:
