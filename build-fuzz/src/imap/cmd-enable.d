build-fuzz/src/imap/cmd-enable.o: src/imap/cmd-enable.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:
