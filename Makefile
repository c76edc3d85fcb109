# Overleg — build, run and test. `make run` and `make test` install what is missing themselves.
VERSION   := 0.1.0
CC        ?= cc
PKGS      := libevent libevent_pthreads libevent_openssl jansson libpq openssl
CFLAGS    ?= -O2 -g
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Ibuild \
             -DOVERLEG_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -largon2 -lunistring -lpthread -lm

SRCS      := $(wildcard server/*.c)
OBJS      := $(SRCS:server/%.c=build/obj/%.o) build/obj/embedded_data.o
EMBEDDED  := $(sort $(wildcard sql/[0-9]*.sql)) docs/openapi.json

-include tests/unit/unit.mk
-include tests/fuzz/fuzz.mk

.PHONY: all deps run test unit-bin asan-bin bench fmt stop-db clean
all: build/overlegd

build/overlegd: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/obj/%.o: server/%.c $(wildcard include/*.h) | build/obj
	$(CC) $(CFLAGS) -c -o $@ $<

# Migrations and the OpenAPI document are compiled into the binary, so it runs from anywhere.
build/obj/embedded_data.o: build/embedded.S
	$(CC) -c -o $@ $<
build/embedded.S: scripts/embed.sh $(EMBEDDED) | build/obj
	sh scripts/embed.sh $(EMBEDDED) > $@

build/obj:
	mkdir -p $@

# The server built with AddressSanitizer and UndefinedBehaviorSanitizer, for the second run of the
# API suite in `make test` (tests/run.sh): memory errors, leaks at exit and undefined behaviour
# become failures there.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
asan-bin: build/asan/overlegd
build/asan/overlegd: $(SRCS) build/embedded.S $(wildcard include/*.h)
	mkdir -p build/asan
	$(CC) $(filter-out -O%,$(CFLAGS)) $(ASAN_CFLAGS) -o $@ $(SRCS) build/embedded.S $(LDLIBS)

unit-bin: build/unit_tests
build/unit_tests: $(UNIT_SRCS) $(UNIT_MODS) $(wildcard include/*.h)
	$(CC) $(CFLAGS) -o $@ $(UNIT_SRCS) $(UNIT_MODS) -lcmocka $(LDLIBS)

deps:
	sh scripts/deps.sh

run:
	sh scripts/deps.sh
	$(MAKE) all
	bash scripts/run.sh

test:
	sh scripts/deps.sh test
	$(MAKE) all unit-bin asan-bin fuzz-bin
	FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) bash tests/run.sh $(ARGS)

bench:
	sh scripts/deps.sh bench
	$(MAKE) all
	bash tests/bench/run.sh

fmt:
	clang-format -i server/*.c include/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h

stop-db:
	bash scripts/pg.sh stop var/pg

clean:
	rm -rf build
