build-fuzz/src/imap/cmd-rename.o: src/imap/cmd-rename.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-op.h \
  src/store/store.h src/lib/alloc.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-op.h:

src/store/store.h:

src/lib/alloc.h:
