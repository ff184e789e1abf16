build-fuzz/src/imap/imap-date.o: src/imap/imap-date.c \
  src/imap/imap-date.h

src/imap/imap-date.h:
