build-fuzz/src/daemon/serve.o: src/daemon/serve.c src/daemon/serve.h \
  src/cli/cli.h src/daemon/control.h src/daemon/privdrop.h \
  src/imap/imap.h src/lib/alloc.h src/lib/buf.h src/lib/config.h \
  src/lib/conn.h src/lib/log.h src/lib/workers.h src/mail/auth.h \
  src/pop3/pop3.h src/smtp/smtp.h src/store/store.h

src/daemon/serve.h:

src/cli/cli.h:

src/daemon/control.h:

src/daemon/privdrop.h:

src/imap/imap.h:

src/lib/alloc.h:

src/lib/buf.h:

src/lib/config.h:

src/lib/conn.h:

src/lib/log.h:

src/lib/workers.h:

src/mail/auth.h:

src/pop3/pop3.h:

src/smtp/smtp.h:

src/store/store.h:
