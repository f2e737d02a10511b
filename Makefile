# haven — convenience targets over CMake. See CMakeLists.txt for the build.

BUILD_DIR ?= build
SAN_DIR   ?= build-san
JOBS      ?= 2
CMAKE     ?= cmake
CTEST     ?= ctest

FORMAT_DIRS := lib cli server include tools tests bench fuzz

.PHONY: all deps build test test-sanitize demo bench clean format

all: build

deps:
	./scripts/install-deps

# cmake is idempotent, so configure every time: it also picks up new files.
build: deps
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && $(CTEST) --output-on-failure -j$(JOBS)

test-sanitize: deps
	$(CMAKE) -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DHAVEN_SANITIZE=ON
	$(CMAKE) --build $(SAN_DIR) -j$(JOBS)
	cd $(SAN_DIR) && $(CTEST) --output-on-failure -j$(JOBS)

demo: build
	./scripts/demo $(BUILD_DIR)

bench: build
	./scripts/bench $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR)

format:
	find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) \
	  -print0 2>/dev/null | xargs -0 -r clang-format -i
