build-fuzz/src/smtp/smtp-parse.o: src/smtp/smtp-parse.c \
  src/smtp/smtp-parse.h

src/smtp/smtp-parse.h:
