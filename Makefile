# Roost build. `make` builds build/roost; see README.md and HACKING.md.
CC      ?= cc
PKGS    := libevent libevent_openssl libevent_pthreads openssl sqlite3 gmime-3.0 zlib libunbound libsystemd libpsl
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral
DEPFLAGS = -MMD -MP
# The PostgreSQL driver (src/store/db/db-pg.c) is built when libpq is there.
HAVE_PG := $(shell pkg-config --exists libpq 2>/dev/null && echo 1)
ifeq ($(HAVE_PG),1)
PKGS    += libpq
PG_CFLAGS := -DROOST_HAVE_PG
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt -lpthread
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Isrc $(PG_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS)

SRC      := $(sort $(wildcard src/*/*.c) src/store/db/db.c src/store/db/db-sqlite.c \
	$(if $(HAVE_PG),src/store/db/db-pg.c src/store/db/db-pg-schema.c \
		src/store/db/db-pg-listen.c))
MAIN_SRC := src/cli/main.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(MAIN_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/%.o)
LOAD_SRC := $(sort $(wildcard bench/roost-load.c bench/load-*.c))

PYTHON  ?= /usr/bin/python3

.PHONY: all deps test-deps run test unit e2e asan test-asan test-pg test-all bench clean fuzz fuzz-build
all: $(BUILD)/roost

deps:
	@./scripts/deps.sh
test-deps:
	@./scripts/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libroost.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/roost: $(MAIN_OBJ) $(BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS)

# bench/roost-load.c + bench/load-<mode>.c: the network load generator.
$(BUILD)/roost-load: $(LOAD_SRC) $(BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -o $@ $(LOAD_SRC) $(BUILD)/libroost.a $(PKG_LIBS)

# The in-process delivery benchmark (store + group commit).
$(BUILD)/bench-deliver: bench/bench-deliver.c $(BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libroost.a $(PKG_LIBS)

# The Sieve interpreter alone (bench/bench-sieve.c).
$(BUILD)/bench-sieve: bench/bench-sieve.c $(BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libroost.a $(PKG_LIBS)

# The PostgreSQL driver's contract test: `pg-driver-test rewrite` needs no
# server; tests/e2e/test_db_pg.py runs it against a private cluster.
$(BUILD)/pg-driver-test: tests/db/pg-driver-test.c $(BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libroost.a $(PKG_LIBS)

# First run: create ./var with a demo account, then serve in the foreground.
run: deps
	@$(MAKE) --no-print-directory all
	@./scripts/run.sh

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

e2e: $(BUILD)/roost
	ROOST_BIN=$(abspath $(BUILD)/roost) $(PYTHON) -m pytest -q tests/e2e

# Everything: unit tests, then the end-to-end suite against a real daemon.
# check-test-deps first proves deps.sh installs every program and module
# the suite uses (so it also passes on a bare machine).
# (the bench programs are built too, never run: a store API change that
# breaks them fails here, not at the next benchmark)
test: test-deps
	@./scripts/check-test-deps.sh
	@$(MAKE) --no-print-directory all $(BUILD)/unit-tests $(BUILD)/pg-driver-test \
		$(BUILD)/roost-load $(BUILD)/bench-deliver $(BUILD)/bench-sieve
	@./scripts/test.sh $(BUILD)

# The same suite with AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		build-asan/roost build-asan/unit-tests build-asan/pg-driver-test
# E2E_ASAN narrows the e2e part (.ci/run leaves out the slowest
# integration files to stay in its time budget; `make test-all` runs all).
E2E_ASAN ?= tests/e2e
test-asan: test-deps asan
	@ROOST_SANITIZED=1 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 E2E_ARGS="$(E2E_ASAN)" \
		./scripts/test.sh build-asan

# The end-to-end suite on the PostgreSQL store backend: every Roost the
# tests start keeps its store in a database of one private cluster
# (tests/e2e/conftest.py). E2E_PG narrows it to some test files (.ci/run
# runs the core ones; the whole suite takes about as long as `make test`).
E2E_PG ?= tests/e2e
# pytest-xdist workers for the end-to-end suite (scripts/test.sh; 0 = none)
E2E_JOBS ?= 2
export E2E_JOBS
test-pg: test-deps
	@./scripts/check-test-deps.sh
	@$(MAKE) --no-print-directory all $(BUILD)/pg-driver-test
	@ROOST_TEST_STORE=postgresql ROOST_BIN=$(abspath $(BUILD)/roost) \
		/usr/bin/python3 -m pytest -q -p no:cacheprovider -n $(E2E_JOBS) --dist loadgroup $(E2E_PG)

# Every variant: SQLite, under the sanitizers, on PostgreSQL.
test-all: test test-asan test-pg

bench: all $(BUILD)/roost-load $(BUILD)/bench-deliver $(BUILD)/bench-sieve

# Roost side by side with a private Postfix + Dovecot (docs/PERFORMANCE.md).
# Needs root; COMPARE_ARGS=--quick for the short run. Never part of `test`.
.PHONY: bench-compare
bench-compare: all $(BUILD)/roost-load
	$(PYTHON) bench/compare/compare.py $(COMPARE_ARGS)

# libFuzzer targets (tests/fuzz/fuzz-<name>.c; see tests/fuzz/README.md).
# The library is rebuilt with clang and the fuzzer/ASan/UBSan
# instrumentation into build/fuzz/ (inside the ignored build/), the same
# way `asan` uses build-asan/. FUZZ_SECONDS is per target.
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz-%.c,%,$(sort $(wildcard tests/fuzz/fuzz-*.c)))
fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		$(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libroost.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libroost.a $(PKG_LIBS)
fuzz: test-deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_NAMES)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
