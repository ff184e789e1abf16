build-fuzz/src/imap/cmd-id.o: src/imap/cmd-id.c src/imap/imap-commands.h \
  src/imap/imap-session.h src/imap/imap-parser.h src/lib/buf.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:
