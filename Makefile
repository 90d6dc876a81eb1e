# pusher — top-level build.
#   make            build ./pusher (release)
#   make test       build and run every test (unit + integration)
#   make asan-test  the same suite under AddressSanitizer + UBSan
#   make run        build and start the server on its embedded default
#   make deps       install missing Debian packages
#   make check-layers  fail if a folder includes one above it (scripts/check_layers.sh)
# Each source folder is a static library; tests/<folder>/ holds its tests.
# Dependencies go one way (docs/ARCHITECTURE.md): protocol <- runtime <- channel, redis, worker <- master.

MODE ?= release
SHELL := /bin/bash
B := build/$(MODE)
CXX ?= g++
CC ?= gcc
# The sanitizer build must not pick up release objects: each mode has its own tree.
ifeq ($(MODE),fuzz)
  CXX := clang++
  CC := clang
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize=vptr
  LDSAN := -fsanitize=address,undefined -fno-sanitize=vptr
else ifeq ($(MODE),asan)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined
  LDSAN := -fsanitize=address,undefined -fno-sanitize=vptr
else
  OPT := -O2 -g
  LDSAN :=
endif
WARN := -Wall -Wextra -Werror
# Parallel compiles inside test/fuzz (not at the top: deps must install before
# anything compiles). CI's clean builds take half the time on two cores.
JOBS ?= $(shell nproc)
CPPFLAGS := -I. -I/usr/share/include/llhttp $(shell pkg-config --cflags jsoncpp 2>/dev/null) -MMD -MP
CXXFLAGS := -std=c++17 $(OPT) $(WARN)
CFLAGS := $(OPT)
LDLIBS := -levent -levent_core -lwslay -ljsoncpp -lhiredis -lssl -lcrypto -lz -lpthread

MODULES := master worker channel redis runtime protocol
# Link order: a library comes before the ones it uses. The layering is one-way,
# so the order is strict: no --start-group.
LIBS := $(foreach m,$(MODULES),$(B)/lib$(m).a) $(B)/libllhttp.a
srcs = $(filter-out master/main.cpp,$(wildcard $(1)/*.cpp))
objs = $(patsubst %.cpp,$(B)/%.o,$(call srcs,$(1)))


.PHONY: bench-tools bench-selftest fuzz
.PHONY: all deps test unit-test integration-test asan-test run clean format bench check-layers
all: pusher

deps:
	@scripts/deps.sh

# llhttp: C sources shipped by Debian's node-llhttp, built into a static library.
LLHTTP_SRC := $(wildcard /usr/share/llhttp/*.c)
$(B)/libllhttp.a: $(patsubst /usr/share/llhttp/%.c,$(B)/llhttp/%.o,$(LLHTTP_SRC))
	@mkdir -p $(@D); ar rcs $@ $^
$(B)/llhttp/%.o: /usr/share/llhttp/%.c
	@mkdir -p $(@D); $(CC) $(CFLAGS) -I/usr/share/include/llhttp -c $< -o $@

define module_lib
$(B)/lib$(1).a: $(call objs,$(1))
	@mkdir -p $$(@D); rm -f $$@; ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

$(B)/%.o: %.cpp
	@mkdir -p $(@D); $(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

# The browser client is compiled in (worker/client_script.cpp): client/pusher.js becomes one C++
# raw string literal, and editing it rebuilds. A JS file holding the delimiter is refused.
$(B)/gen/client_js.h: client/pusher.js
	@mkdir -p $(@D); if grep -qF ')PUSHER_JS"' $<; then echo "$<: holds )PUSHER_JS\"" >&2; exit 1; fi; \
	{ printf '// Generated from %s by the Makefile: do not edit.\nR"PUSHER_JS(' $<; cat $<; \
	  printf ')PUSHER_JS"\n'; } > $@.tmp && mv $@.tmp $@
$(B)/worker/client_script.o: $(B)/gen/client_js.h
$(B)/worker/client_script.o: CPPFLAGS += -I$(B)/gen

$(B)/pusher: $(B)/master/main.o $(LIBS)
	$(CXX) $(LDSAN) -o $@ $< $(LIBS) $(LDLIBS)

# The same program with another version string: what the upgrade tests and
# the hand-over benchmark put on disk in place of the running binary. Its own
# version object comes before the libraries, so the archive's is not linked.
$(B)/version-next.o: runtime/version.cpp
	@mkdir -p $(@D); $(CXX) $(CPPFLAGS) $(CXXFLAGS) -DPUSHER_VERSION_SUFFIX='"+next"' -c $< -o $@
$(B)/pusher-next: $(B)/master/main.o $(B)/version-next.o $(LIBS)
	$(CXX) $(LDSAN) -o $@ $< $(B)/version-next.o $(LIBS) $(LDLIBS)

pusher: $(B)/pusher
ifeq ($(MODE),release)
	@cp $(B)/pusher ./pusher.new && mv -f ./pusher.new ./pusher  # a rename: a running server keeps its binary
endif

# Tests: one gtest binary per folder of tests/ (unit tests of that module plus
# integration tests that drive the real ./pusher over sockets). Each binary links
# only the libraries its module needs, so one module's tests build on their own.
TEST_DIRS := protocol runtime worker channel redis master integration
libs_protocol := protocol
libs_runtime := runtime protocol
libs_worker := worker runtime protocol
libs_channel := channel runtime protocol
libs_redis := redis runtime protocol
libs_master := master worker channel redis runtime protocol
libs_integration := master worker channel redis runtime protocol
test_objs = $(patsubst %.cpp,$(B)/%.o,$(wildcard tests/$(1)/*_test.cpp tests/support/*.cpp))
test_libs = $(foreach l,$(libs_$(1)),$(B)/lib$(l).a) $(B)/libllhttp.a
define test_bin
$(B)/tests/$(1)_tests: $(call test_objs,$(1)) $(call test_libs,$(1))
	@mkdir -p $$(@D); $(CXX) $(LDSAN) -o $$@ $(call test_objs,$(1)) $(call test_libs,$(1)) -lgtest -lgtest_main $(LDLIBS)
endef
$(foreach t,$(TEST_DIRS),$(eval $(call test_bin,$(t))))
TEST_BINS := $(foreach t,$(TEST_DIRS),$(if $(wildcard tests/$(t)/*_test.cpp),$(B)/tests/$(t)_tests))

# make test-protocol (or runtime, worker, channel, master, integration): one folder only.
# Through run_tests.sh, so that sanitizer reports of any process fail it too.
test-%: $(B)/pusher $(B)/pusher-next $(B)/tests/%_tests
	PUSHER_SRC=$(CURDIR) PUSHER_BIN=$(CURDIR)/$(B)/pusher scripts/run_tests.sh $(B)/tests/$*_tests

check-layers:
	@scripts/check_layers.sh

test: deps check-layers
	@scripts/deps.sh --test
	$(MAKE) -j$(JOBS) MODE=$(MODE) pusher $(B)/pusher-next $(TEST_BINS)
	PUSHER_SRC=$(CURDIR) PUSHER_BIN=$(CURDIR)/$(B)/pusher scripts/run_tests.sh $(TEST_BINS)
	PUSHER_BIN=$(CURDIR)/$(B)/pusher tests/browser/run.sh

asan-test:
	$(MAKE) MODE=asan test

# Benchmark tools (scripts/bench*.sh build them). loadgen and kernel_floor (the push benchmark,
# scripts/bench.sh) use no project library; they only share this rule.
BENCH_TOOLS := $(B)/bench/channel_bench $(B)/bench/loadgen $(B)/bench/kernel_floor
bench-tools: $(BENCH_TOOLS)
$(B)/bench/loadgen $(B)/bench/kernel_floor: tests/bench/bench_common.h
# Injects faults into kernel_floor and checks that loadgen counts them exactly.
bench-selftest: bench-tools
	scripts/bench_selftest.sh
$(B)/bench/%: tests/bench/%.cpp $(B)/libprotocol.a $(B)/libllhttp.a
	@mkdir -p $(@D); $(CXX) $(CPPFLAGS) $(CXXFLAGS) -o $@ $< $(B)/libprotocol.a $(B)/libllhttp.a $(LDLIBS)

# libFuzzer targets (clang): each runs FUZZ_SECONDS on a copy of its seed corpus.
FUZZ_TARGETS := php_serialize frame http_request ws_frame ws_inflate ws_deflate_offer services redis_topology jwt handover
FUZZ_SECONDS ?= 30
$(B)/fuzz/%: tests/fuzz/%_fuzz.cpp $(B)/libprotocol.a $(B)/libllhttp.a
	@mkdir -p $(@D); $(CXX) $(CPPFLAGS) $(CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libprotocol.a $(B)/libllhttp.a $(LDLIBS)
# The services target drives the runtime and the services too (tests/fuzz/services_fuzz.cpp).
FUZZ_SERVICE_LIBS := $(B)/libworker.a $(B)/libchannel.a $(B)/libredis.a $(B)/libruntime.a $(B)/libprotocol.a $(B)/libllhttp.a
$(B)/fuzz/services: tests/fuzz/services_fuzz.cpp $(FUZZ_SERVICE_LIBS)
	@mkdir -p $(@D); $(CXX) $(CPPFLAGS) $(CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_SERVICE_LIBS) $(LDLIBS)
# Cluster topology replies from the network, through hiredis's reader into redis/.
$(B)/fuzz/redis_topology: tests/fuzz/redis_topology_fuzz.cpp $(B)/libredis.a
	@mkdir -p $(@D); $(CXX) $(CPPFLAGS) $(CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libredis.a $(LDLIBS)
# Its services log every misbehaving peer: their stderr is closed (reports still show).
# Scripts need some length from the start; longer ones only repeat events.
FUZZ_FLAGS_services := -close_fd_mask=2 -max_len=2048 -len_control=0
fuzz:
	@scripts/deps.sh --test
	$(MAKE) -j$(JOBS) MODE=fuzz $(foreach t,$(FUZZ_TARGETS),build/fuzz/fuzz/$(t))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* build/fuzz/corpus/$$t/ 2>/dev/null; \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	  extra=""; case $$t in services) extra="$(FUZZ_FLAGS_services)";; esac; \
	  build/fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
	    -print_final_stats=1 $$extra build/fuzz/corpus/$$t 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

run: deps pusher
	./pusher start

bench: pusher bench-tools
	scripts/bench.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build pusher

-include $(shell find build -name '*.d' 2>/dev/null)
