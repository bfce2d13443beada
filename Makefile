# Thin wrapper around CMake. `make demo` and `make test` do all set-up on a fresh Debian 12 machine.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all deps build test demo asan tsan fuzz fuzz-smoke bench format format-check tidy clean install uninstall

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/veeksha

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVK_ASAN=ON
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS)

tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVK_TSAN=ON
	cmake --build $(TSAN_BUILD) -j$(JOBS)
	# Only the tests labelled tsan (threaded code); none matching is not an error (--no-tests=ignore).
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --output-on-failure -j$(JOBS) -L tsan --no-tests=ignore

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVK_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

# Bounded fuzzing of every parser (FUZZ_SECONDS each).
fuzz-smoke: fuzz
	@scripts/fuzz-smoke.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-20}

bench: build
	bench/run-all

# (generated tables are left as their generator wrote them)
FORMAT_FILES = $$(git ls-files '*.c' '*.h' ':!:src/tokenizer/tok_nfc_data.c')
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

# clang-tidy with .clang-tidy's checks over $(BUILD)/compile_commands.json (configured, not built),
# every C file under src/ except the generated NFC tables; any finding fails (docs/ARCHITECTURE.md).
tidy: $(BUILD)/CMakeCache.txt
	run-clang-tidy -quiet -p $(BUILD) -j$(JOBS) '^$(CURDIR)/src/(?!tokenizer/tok_nfc_data\.c$$).*\.c$$' >$(BUILD)/tidy.log 2>&1 \
	  || { sed 's/\x1b\[[0-9;]*m//g' $(BUILD)/tidy.log | grep -E 'warning:|error:' | sort -u; echo "make tidy: findings above (full log: $(BUILD)/tidy.log)"; exit 1; }
	@echo "make tidy: clean"

# Binary, man pages, shell completions, docs and examples under $(DESTDIR)$(PREFIX) (docs/INSTALL.md).
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# Removes what install put under $(DESTDIR)$(PREFIX) (its manifest: share/veeksha/install-manifest.txt).
uninstall:
	DESTDIR="$(DESTDIR)" cmake -DPREFIX="$(PREFIX)" -P cmake/vk_uninstall.cmake

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
