# Makefile: the user's entry point; CMake (CMakeLists.txt) does the building underneath.
#   make         install missing Debian packages, build build/libgridlora.a and build/gridlora
#   make demo    build, then run `gridlora demo`
#   make test    every test twice: optimised (build/) and under ASan+UBSan (build-asan/)
#   make bench   benchmarks, with the OpenBLAS guard variables unset (see bench/README.md)
#   make fuzz    libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, each run for
#                FUZZ_SECONDS (default 60); see tests/fuzz/README.md
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Serial on purpose: each test already uses every core. OpenMP threads that spin while
# they wait slow down tenfold when anything else shares the cores, so tests run with
# passive waiting: a busy machine makes them slower, not pathological.
CTEST_FLAGS ?= --output-on-failure
test-plain test-asan: export OMP_WAIT_POLICY = PASSIVE

.PHONY: all deps build build-asan test test-plain test-asan demo bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > $(BUILD).configure.log 2>&1 || { cat $(BUILD).configure.log; exit 1; }
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGL_SANITIZE=ON > $(ASAN_BUILD).configure.log 2>&1 || { cat $(ASAN_BUILD).configure.log; exit 1; }
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

test: test-plain test-asan

test-plain: build
	@echo "== tests, optimised build ($(BUILD)/)"
	@cd $(BUILD) && ctest $(CTEST_FLAGS)

# halt_on_error: a sanitizer report fails the test instead of scrolling past.
test-asan: build-asan
	@echo "== tests, AddressSanitizer + UndefinedBehaviorSanitizer ($(ASAN_BUILD)/)"
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ctest $(CTEST_FLAGS)

demo: build
	@$(BUILD)/gridlora demo

# The guard variables slow OpenBLAS to its AVX2 kernel; users' machines do not set them,
# so every benchmark runs without them (ours and any peer's alike).
bench: build
	@echo "== make bench: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for every run"
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BUILD)/bench_linear
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/run_bench.py $(BUILD)

# Fuzzing: a CMake project of its own (tests/fuzz/CMakeLists.txt), built by clang only.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= safetensors config manifest tokenizer video
FUZZ_CC ?= clang
fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz: $(FUZZ_CC) missing (apt-get install clang)"; exit 1; }
	@cmake -S tests/fuzz -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=$(FUZZ_CC) > $(FUZZ_BUILD).configure.log 2>&1 || { cat $(FUZZ_BUILD).configure.log; exit 1; }
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BUILD).configure.log $(ASAN_BUILD).configure.log
