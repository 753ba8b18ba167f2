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

.PHONY: all deps run test test-unit test-int check-headers fuzz bench clean reasons-doc

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

reasons-doc: all
	$(BUILD)/postino reasons --markdown > docs/REASONS.md

clean:
	rm -rf build build-asan postino

-include $(LIB_OBJS:.o=.d) $(BUILD)/src/main.d
