# libFuzzer harnesses (tests/fuzz/<name>.c, seed corpus tests/fuzz/corpus/<name>/). Included by
# the top-level Makefile. Built with clang and AddressSanitizer + UndefinedBehaviorSanitizer
# (any UB aborts); the server's modules are built once more with the same instrumentation, into
# an archive from which each harness takes what it needs.
#   make fuzz-bin                  build them
#   make fuzz [FUZZ_SECONDS=60]    run each in turn for that long (tests/fuzz/run.sh)
#   make test runs each for FUZZ_TEST_SECONDS (20) as one check (tests/run.sh)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 20
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=build/fuzz/%)
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all
# main.c has its own main(); libFuzzer brings one.
FUZZ_OBJS    := $(patsubst server/%.c,build/fuzz/obj/%.o,$(filter-out server/main.c,$(wildcard server/*.c))) \
                build/fuzz/obj/embedded_data.o

_fuzz_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: fuzz fuzz-bin
fuzz-bin: $(FUZZ_BINS)

fuzz:
	sh scripts/deps.sh fuzz
	$(MAKE) fuzz-bin
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)

build/fuzz/obj:
	mkdir -p $@

build/fuzz/obj/%.o: server/%.c $(wildcard include/*.h) | build/fuzz/obj
	$(FUZZ_CC) $(filter-out -O%,$(CFLAGS)) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/obj/embedded_data.o: build/embedded.S | build/fuzz/obj
	$(FUZZ_CC) -c -o $@ $<

build/fuzz/liboverleg.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h build/fuzz/liboverleg.a
	$(FUZZ_CC) $(filter-out -O%,$(CFLAGS)) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    build/fuzz/liboverleg.a $(LDLIBS)

.DEFAULT_GOAL := $(_fuzz_saved_default_goal)
