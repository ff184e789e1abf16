build-fuzz/src/imap/cmd-idle.o: src/imap/cmd-idle.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-sync.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-sync.h:
