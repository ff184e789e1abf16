build-fuzz/src/imap/imap-seqset.o: src/imap/imap-seqset.c \
  src/imap/imap-seqset.h src/lib/alloc.h src/lib/buf.h

src/imap/imap-seqset.h:

src/lib/alloc.h:

src/lib/buf.h:
