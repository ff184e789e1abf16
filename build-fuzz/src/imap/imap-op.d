build-fuzz/src/imap/imap-op.o: src/imap/imap-op.c src/imap/imap-op.h \
  src/store/store.h src/imap/imap-session.h src/imap/imap-parser.h \
  src/lib/buf.h src/lib/alloc.h src/lib/conn.h src/lib/log.h

src/imap/imap-op.h:

src/store/store.h:

src/imap/imap-session.h:

src/imap/imap-parser.h:

src/lib/buf.h:

src/lib/alloc.h:

src/lib/conn.h:

src/lib/log.h:
