build-fuzz/src/imap/cmd-search.o: src/imap/cmd-search.c \
  src/imap/imap-commands.h src/imap/imap-session.h \
  src/imap/imap-parser.h src/lib/buf.h src/imap/imap-search.h \
  src/imap/imap-seqset.h src/imap/imap-view.h src/lib/alloc.h

src/imap/imap-commands.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/imap/imap-search.h:

src/imap/imap-seqset.h:

src/imap/imap-view.h:

src/lib/alloc.h:
