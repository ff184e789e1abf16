build-fuzz/src/lib/config-keys.o: src/lib/config-keys.c src/lib/config.h

src/lib/config.h:
