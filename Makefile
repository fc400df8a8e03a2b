# Makefile: the user's entry point; CMake (CMakeLists.txt) does the building underneath.
#   make         install missing Debian packages, build build/libgridlora.a and build/gridlora
#   make demo    build, then run `gridlora demo`
#   make test    every test twice: optimised (build/) and under ASan+UBSan (build-asan/)
#   make bench   benchmarks, with the OpenBLAS guard variables unset (see bench/README.md)
#   make fuzz    libFuzzer targets (clang, ASan+UBSan) in build-fuzz/, each run for
#                FUZZ_SECONDS (default 60); see tests/fuzz/README.md
#   make check-leaks  the demo path (tiny training of every stage, then the demo) under
#                valgrind memcheck, in build-valgrind/; see docs/CHECKS.md
#   make tsan    ThreadSanitizer (clang, libomp + Archer) over the OpenMP code, in
#                build-tsan/; see docs/CHECKS.md
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Serial on purpose: each test already uses every core. OpenMP threads that spin while
# they wait slow down tenfold when anything else shares the cores, so tests run with
# passive waiting: a busy machine makes them slower, not pathological.
CTEST_FLAGS ?= --output-on-failure
test-plain test-asan: export OMP_WAIT_POLICY = PASSIVE

.PHONY: all deps build build-asan test test-plain test-asan demo bench fuzz check-leaks tsan clean

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

# Leaks and races (docs/CHECKS.md). valgrind has no AVX-512, hence no -march=native;
# MPI is left out of both (Open MPI's own threads and memory are not ours to check).
VALGRIND_BUILD ?= build-valgrind
check-leaks: deps
	@command -v valgrind >/dev/null || { echo "make check-leaks: valgrind missing (apt-get install valgrind)"; exit 1; }
	@cmake -S . -B $(VALGRIND_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGL_NATIVE=OFF -DGL_MPI=OFF > $(VALGRIND_BUILD).configure.log 2>&1 || { cat $(VALGRIND_BUILD).configure.log; exit 1; }
	@cmake --build $(VALGRIND_BUILD) -j$(JOBS) --target gridlora_cli
	@tests/checks/leaks.sh $(VALGRIND_BUILD)/gridlora valgrind

# ThreadSanitizer needs every OpenMP barrier to be visible: clang's -fopenmp (LLVM's
# libomp) with its Archer tool, which tests/checks/tsan.sh loads. gcc's libgomp is not
# instrumented, so a gcc build reports false races on its barriers.
TSAN_BUILD ?= build-tsan
TSAN_CC ?= clang
TSAN_TARGETS ?= gridlora_cli test_attention test_linear test_norm test_activation test_mse test_modulate test_rope test_patchify test_embedding test_core test_lora test_dit test_sample test_train test_render
tsan: deps
	@command -v $(TSAN_CC) >/dev/null || { echo "make tsan: $(TSAN_CC) missing (apt-get install clang libomp-14-dev)"; exit 1; }
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_C_COMPILER=$(TSAN_CC) -DCMAKE_BUILD_TYPE=Debug -DGL_MPI=OFF \
		-DCMAKE_C_FLAGS="-fsanitize=thread -O1" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
		> $(TSAN_BUILD).configure.log 2>&1 || { cat $(TSAN_BUILD).configure.log; exit 1; }
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TARGETS)
	@tests/checks/tsan.sh $(TSAN_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BUILD).configure.log $(ASAN_BUILD).configure.log
