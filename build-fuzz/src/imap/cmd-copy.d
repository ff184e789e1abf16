build-fuzz/src/imap/cmd-copy.o: src/imap/cmd-copy.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-op.h \
  src/store/store.h src/imap/imap-seqset.h src/imap/imap-view.h \
  src/lib/alloc.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-op.h:

src/store/store.h:

src/imap/imap-seqset.h:

src/imap/imap-view.h:

src/lib/alloc.h:
