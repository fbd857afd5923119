# The two commands of the README, plus helpers. Everything runs through CMake; the
# scripts install missing Debian packages first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build up down test test-asan bench fuzz clean format

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Starts the apiserver in the background on 127.0.0.1:8080 with data in ./kubec-data.
up: build
	@bash scripts/up.sh

down:
	@bash scripts/down.sh

# Unit, fuzz-replay and integration tests, built with AddressSanitizer and
# UndefinedBehaviorSanitizer; ends with "N passed, N failed".
test: deps
	@bash scripts/test.sh

bench: build
	@bash bench/run.sh

fuzz: deps
	@bash scripts/fuzz.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h' | grep -v pb_schema.c)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
