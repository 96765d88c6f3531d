# Thin wrapper over CMake; the build itself lives in CMakeLists.txt.
#   make demo   set up, build Release, generate a synthetic data set, summarise
#   make test   set up, build, run ctest on a normal and an ASan+UBSan build
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_OUT   ?= demo-out
DEMO_N     ?= 100000
# CI builds with -Werror
WERROR     ?= $(if $(CI),ON,OFF)

.PHONY: all deps build build-asan build-fuzz demo test test-release test-asan test-fuzz bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DTSR_WERROR=$(WERROR)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTSR_SANITIZE=address,undefined -DTSR_WERROR=$(WERROR)
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)/tessera $(DEMO_OUT) $(DEMO_N)

build-fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSR_FUZZ=ON -DTSR_SANITIZE=address,undefined -DTSR_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

test: test-release test-asan test-fuzz

test-fuzz: build-fuzz
	cd $(FUZZ_BUILD) && ctest --output-on-failure

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j 2

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 2

bench: build
	@bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEMO_OUT)
