# SPDX-License-Identifier: ISC
# postino - build, run, test.  See README.md.
#
# Sources are discovered by wildcard: adding src/x/y.c or tests/unit/test-z.c
# needs no Makefile edit. SANITIZE=1 builds into build-asan/ with ASan+UBSan.

CC ?= cc
PYTHON ?= /usr/bin/python3
DATA ?= ./var

PKGS := libevent libevent_openssl libevent_pthreads openssl sqlite3 libcares jansson libidn2 libcrypt
CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing -Isrc \
	-D_FORTIFY_SOURCE=2 -fstack-protector-strong
LDLIBS := -lpthread

ifeq ($(SANITIZE),1)
BUILD := build-asan
CFLAGS_BASE := $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS_BASE)) -O1 \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
else
BUILD := build
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += $(CFLAGS_BASE) $(PKG_CFLAGS)

LIB_SRCS := $(sort $(shell find src -name '*.c' ! -name main.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/unit/helpers.c))
HEADERS := $(sort $(shell find src -name '*.h'))

.PHONY: all deps run test test-unit test-int check-headers fuzz fuzz-build bench clean reasons-doc

all: $(BUILD)/postino postino

deps:
	@scripts/deps

# ./postino is a link to the last build so tests and docs can say ./postino.
postino: $(BUILD)/postino
	@ln -sf $(BUILD)/postino postino

$(BUILD)/postino: $(BUILD)/src/main.o $(BUILD)/libpostino.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/libpostino.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/test-%: tests/unit/test-%.c $(HELPER_OBJS) $(BUILD)/libpostino.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(HELPER_OBJS) $(BUILD)/libpostino.a \
		$(PKG_LIBS) -lcmocka $(LDLIBS) $(LDFLAGS)

run: deps all
	@test -f $(DATA)/postino.conf || $(BUILD)/postino init --data $(DATA) --hostname localhost \
		--set listen.smtp=127.0.0.1:2525 --set listen.submission=127.0.0.1:2587 \
		--set listen.submissions=127.0.0.1:2465 --set listen.imap=127.0.0.1:2143 \
		--set listen.imaps=127.0.0.1:2993 --set listen.pop3=127.0.0.1:2110 \
		--set listen.pop3s=127.0.0.1:2995 --set listen.http=127.0.0.1:8080
	$(BUILD)/postino serve --data $(DATA)

test: deps all check-headers test-unit test-int

test-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

test-int: all
	POSTINO_BIN=$(CURDIR)/$(BUILD)/postino $(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

# Every header must compile on its own (no hidden include-order coupling).
check-headers:
	@set -e; for h in $(HEADERS); do \
		echo "#include \"$${h#src/}\"" | $(CC) $(CFLAGS) -x c -fsyntax-only - || \
		{ echo "check-headers: $$h is not self-contained"; exit 1; }; done
	@echo "check-headers: $(words $(HEADERS)) headers self-contained"

# libFuzzer targets: fuzz/fuzz-NAME.c, corpus in fuzz/corpus/NAME/.
# FUZZ_SECONDS per target (default 60); crashes land in fuzz/build/.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS_BASE)) -O1 \
	-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=fuzz/build/%)
FUZZ_OBJS := $(LIB_SRCS:%.c=fuzz/build/%.o)

fuzz/build/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Wno-unknown-warning-option -c -o $@ $<

fuzz/build/fuzz-%: fuzz/fuzz-%.c $(FUZZ_OBJS)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(PKG_LIBS) $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	@set -e; for f in $(FUZZ_BINS); do name=$${f#fuzz/build/fuzz-}; \
		mkdir -p fuzz/build/corpus-$$name; echo "== $$f ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/build/ \
			fuzz/build/corpus-$$name fuzz/corpus/$$name; done

# Benchmarks against Postfix+Dovecot on the same machine (not tests: they
# report figures and ratios, see bench/RESULTS.md).
bench: all
	@scripts/deps bench
	bench/run

reasons-doc: all
	$(BUILD)/postino reasons --markdown > docs/REASONS.md

clean:
	rm -rf build build-asan postino fuzz/build

# helpers.o is shared by every unit test: keep it between builds
.SECONDARY: $(HELPER_OBJS)

-include $(LIB_OBJS:.o=.d) $(BUILD)/src/main.d
