# pyheapscope - see README.md. `make` builds ./pyheapscope; `make test` runs
# every test; `make sanitize` builds with ASan+UBSan and runs the tests with it.
CC      ?= cc
CXX     ?= c++
PKGS    := libdw libelf json-c zlib simdjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ldw -lelf -ljson-c -lz -lsimdjson)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation -Wno-unknown-warning-option
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) -Iinclude $(PKG_CFLAGS) $(CFLAGS)
# the one C++ file (src/analysis/jsonl_fast.cc: simdjson has no C API)
ALL_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude $(PKG_CFLAGS) $(CFLAGS)
LDLIBS  := $(PKG_LIBS) -lstdc++ -pthread
# ncurses (wide-character) only for the front end's full-screen view
CURSES_CFLAGS := $(shell pkg-config --cflags ncursesw 2>/dev/null)
CURSES_LIBS   := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)
BUILD   ?= build
PYTEST  ?= /usr/bin/python3 -m pytest

# Library sources, in layer order: target -> symbols -> cpython -> heap ->
# analysis -> ui.
LIB_SRC := src/error.c \
           $(wildcard src/target/*.c) \
           $(wildcard src/symbols/*.c) \
           $(wildcard src/cpython/*.c) \
           $(wildcard src/heap/*.c) \
           $(wildcard src/analysis/*.c) \
           src/ui/json.c
LIB_CXX_SRC := $(wildcard src/analysis/*.cc)
UI_SRC  := $(filter-out $(LIB_SRC),$(wildcard src/ui/*.c))
TABLES  := $(sort $(wildcard symbols/*.txt))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX_SRC:%.cc=$(BUILD)/%.o) $(BUILD)/tables.o
UNIT_SRC := $(wildcard tests/unit/*.c)

.PHONY: all test unit-test integration-test sanitize sanitize-full tsan stress valgrind valgrind-short check deps demo clean install bench fuzz fuzz-long fuzz-corpus
all: pyheapscope

pyheapscope: $(BUILD)/pyheapscope
	cp $< $@

$(BUILD)/pyheapscope: $(LIB_OBJ) $(UI_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS) $(CURSES_LIBS) -lm

$(BUILD)/src/ui/top_screen.o: ALL_CFLAGS += $(CURSES_CFLAGS)

$(BUILD)/%.o: %.c $(wildcard include/pyheapscope/*.h src/*/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

$(BUILD)/tables.c: $(TABLES) symbols/embed.awk
	@mkdir -p $(BUILD)
	awk -f symbols/embed.awk $(TABLES) > $@

$(BUILD)/tables.o: $(BUILD)/tables.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/unit-tests: $(UNIT_SRC) $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/walk-bench: bench/walk_bench.c $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# Recordings of real heaps (tests/fuzz/replay.h): the recorder, the corpus
# run every build does, and the libFuzzer harness.
$(BUILD)/record-heap: $(BUILD)/tests/fuzz/record.o $(BUILD)/tests/fuzz/replay.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz-replay: $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/tests/fuzz/replay.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz-walk: $(BUILD)/tests/fuzz/fuzz_walk.o $(BUILD)/tests/fuzz/replay.o $(LIB_OBJ)
	$(CXX) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

FUZZ_CORPUS := $(wildcard tests/fuzz/corpus/*.rec.gz)
FUZZ_CRASHES := $(wildcard tests/fuzz/crashes/*)

unit-test: $(BUILD)/unit-tests $(BUILD)/fuzz-replay
	$(BUILD)/unit-tests
	$(BUILD)/fuzz-replay --strict $(FUZZ_CORPUS)
	$(if $(FUZZ_CRASHES),$(BUILD)/fuzz-replay $(FUZZ_CRASHES))

integration-test: $(BUILD)/pyheapscope
	PYHEAPSCOPE=$(abspath $(BUILD)/pyheapscope) $(PYTEST) -q -rs tests/integration

test: unit-test integration-test

# Everything CI runs: the tests, the same tests on the sanitizer build, the
# short valgrind run and half a minute of fuzzing (CI's ~10 minutes; `make
# fuzz` alone runs a minute, `make fuzz-long` half an hour).
CHECK_FUZZ_SECONDS ?= 30
check: test sanitize valgrind-short
	$(MAKE) FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) fuzz

# Install build and test dependencies (Debian 12, as root).
deps:
	contrib/install-deps.sh

# Start a demo Python service and show `pyheapscope info` on it.
demo: pyheapscope
	contrib/demo.sh

# ASan+UBSan build in its own directory; the same tests run against it,
# with the walk on two threads even for the small heaps of this run. CI's
# run (sanitize) takes a spread of interpreters, stripped and not, to keep
# CI near 10 minutes: 3.7's layouts go through the sanitizer build as the
# fuzz corpus's 3.7 recording, replayed by its unit tests; sanitize-full
# takes every interpreter.
SANITIZE_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANITIZE_ONLY  := pyenv-3.12,debian-3.11,debian-unstable-3.15
sanitize:
	PYHEAPSCOPE_TEST_ONLY=$(SANITIZE_ONLY) PYHEAPSCOPE_TEST_SCALE=0.1 PYHEAPSCOPE_THREADS=2 $(MAKE) BUILD=build-asan CFLAGS="$(SANITIZE_FLAGS)" test

sanitize-full:
	PYHEAPSCOPE_TEST_SCALE=0.1 PYHEAPSCOPE_THREADS=2 $(MAKE) BUILD=build-asan CFLAGS="$(SANITIZE_FLAGS)" test

# ThreadSanitizer build, the same tests with the walk on three threads
# (a race makes the binary exit 66, which fails the test that ran it).
# Not part of check, to keep CI near 10 minutes: run it after touching the
# threaded parts (the walk's pool and marks, settle_dicts, the snapshot's
# copy and fault-in threads).
TSAN_FLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
tsan:
	PYHEAPSCOPE_TEST_ONLY=$(SANITIZE_ONLY) PYHEAPSCOPE_TEST_SCALE=0.1 PYHEAPSCOPE_THREADS=3 \
	  $(MAKE) BUILD=build-tsan CFLAGS="$(TSAN_FLAGS)" test

# libFuzzer (clang) over recordings of real heaps, ASan+UBSan on: the seed
# corpus mutated for FUZZ_SECONDS (CI: 60; `make fuzz-long`: 30 min). New
# inputs go to build-fuzz/corpus; a crash leaves build-fuzz/crash-* (copy
# it to tests/fuzz/crashes/ once fixed: the corpus run replays it).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -O2 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CXX=clang++ CFLAGS="$(FUZZ_CFLAGS)" build-fuzz/fuzz-walk
	mkdir -p build-fuzz/corpus
	for f in $(FUZZ_CORPUS); do gunzip -c $$f > build-fuzz/corpus/$$(basename $$f .gz); done
	build-fuzz/fuzz-walk -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
	    -max_len=16777216 -len_control=0 -use_counters=0 -print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/corpus

fuzz-long:
	$(MAKE) FUZZ_SECONDS=1800 fuzz

# Records the seed corpus again (after a layout change): one heap per
# interpreter found; commit tests/fuzz/corpus.
fuzz-corpus: $(BUILD)/record-heap
	tests/fuzz/make-corpus.sh $(BUILD)

# The longer variants of the robustness tests (issue 7): 200 + 200
# snapshots of a churning target.
stress: $(BUILD)/pyheapscope
	PYHEAPSCOPE_CHURN_SNAPSHOTS=200 PYHEAPSCOPE=$(abspath $(BUILD)/pyheapscope) $(PYTEST) -q -rs tests/integration/test_summary.py -k churning

# Integration tests with pyheapscope under valgrind (memcheck), pyenv 3.12:
# any error fails the command, so the test. CI runs the short variant
# (attach, a live dump checked against the target, retained and paths over
# a dump: ~40 s); `make valgrind` runs every dump, paths and info test.
VALGRIND_ENV = PYHEAPSCOPE_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	PYHEAPSCOPE_TEST_ONLY=pyenv-3.12 PYHEAPSCOPE=$(abspath $(BUILD)/pyheapscope)
valgrind: $(BUILD)/pyheapscope
	$(VALGRIND_ENV) $(PYTEST) -q -rs tests/integration/test_info.py tests/integration/test_dump.py tests/integration/test_paths.py

valgrind-short: $(BUILD)/pyheapscope
	$(VALGRIND_ENV) $(PYTEST) -q -rs tests/integration/test_info.py \
	    tests/integration/test_dump.py::test_dump_records_match_the_target \
	    tests/integration/test_paths.py::test_retained_and_paths_match_the_target

install: pyheapscope
	install -D -m 755 pyheapscope $(DESTDIR)/usr/local/bin/pyheapscope
	install -D -m 644 contrib/pyheapscope.1 $(DESTDIR)/usr/local/share/man/man1/pyheapscope.1

clean:
	rm -rf build build-asan build-tsan build-fuzz pyheapscope

# What one summary costs, next to what users would run in-process instead
# (bench/README.md); writes bench/results.md.
bench: pyheapscope $(BUILD)/walk-bench
	/usr/bin/python3 bench/bench.py
