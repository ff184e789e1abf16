build-fuzz/src/mail/crlf.o: src/mail/crlf.c src/mail/crlf.h

src/mail/crlf.h:
