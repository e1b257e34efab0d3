# platops: `make run` and `make test` do everything on a fresh Debian 12 machine.

BUILD_DIR       ?= build
TEST_BUILD_DIR  ?= build-test
BENCH_BUILD_DIR ?= build-bench
JOBS            ?= $(shell nproc)
# The demo's admin token, so the README tour can use it. Never use this value outside the demo.
DEMO_TOKEN      ?= platops-demo-admin-token
DATA_DIR        ?= ./data

CMAKE_COMMON = -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON

.PHONY: deps build run test bench fmt lint clean fuzz

deps:
	@./scripts/install-deps

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release -DPLATOPS_BUILD_TESTS=OFF
	cmake --build $(BUILD_DIR) --target platops -j $(JOBS)

run: build
	PLATOPS_BOOTSTRAP_TOKEN=$${PLATOPS_BOOTSTRAP_TOKEN:-$(DEMO_TOKEN)} \
	PLATOPS_ALERTING_RULE_FILES=$${PLATOPS_ALERTING_RULE_FILES:-examples/alerting/rules.yml} \
	PLATOPS_ALERTING_ALERTMANAGER_CONFIG=$${PLATOPS_ALERTING_ALERTMANAGER_CONFIG:-examples/alerting/alertmanager.yml} \
	  ./$(BUILD_DIR)/platops serve --demo --data-dir $(DATA_DIR)

# Every test, built with AddressSanitizer and UndefinedBehaviorSanitizer and -Werror. -g1 keeps the
# line tables sanitizer reports need and builds about 15% faster than full debug information.
test: deps
	cmake -S . -B $(TEST_BUILD_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
	  -DPLATOPS_SANITIZE=ON -DPLATOPS_WERROR=ON -DPLATOPS_BUILD_TESTS=ON
	cmake --build $(TEST_BUILD_DIR) -j $(JOBS)
	ctest --test-dir $(TEST_BUILD_DIR) --output-on-failure -j $(JOBS) --timeout 600

bench: deps
	cmake -S . -B $(BENCH_BUILD_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release \
	  -DPLATOPS_BUILD_TESTS=OFF -DPLATOPS_BUILD_BENCH=ON
	cmake --build $(BENCH_BUILD_DIR) -j $(JOBS)
	./$(BENCH_BUILD_DIR)/bench/platops_bench --benchmark_min_time=0.2
	./bench/http_api.sh ./$(BENCH_BUILD_DIR)/platops
	python3 bench/checks_bench.py --binary ./$(BENCH_BUILD_DIR)/platops
	python3 bench/metrics_bench.py --binary ./$(BENCH_BUILD_DIR)/platops
	python3 bench/alerting_bench.py --binary ./$(BENCH_BUILD_DIR)/platops
	python3 bench/alerting_latency.py --binary ./$(BENCH_BUILD_DIR)/platops --background 100000
	python3 bench/rules_bench.py --binary ./$(BENCH_BUILD_DIR)/platops

fmt:
	find src bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

lint: deps
	cmake -S . -B $(TEST_BUILD_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DPLATOPS_BUILD_TESTS=ON
	find src -name '*.cc' ! -name '*_test.cc' | xargs clang-tidy -p $(TEST_BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) $(BENCH_BUILD_DIR)

# Coverage-guided fuzzing with libFuzzer (clang): FUZZ_TARGET=json_body|yaml_docs|time_formats.
FUZZ_TARGET ?= json_body
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DPLATOPS_FUZZ=ON -DPLATOPS_SANITIZE=ON -DPLATOPS_BUILD_TESTS=OFF
	cmake --build build-fuzz --target $(FUZZ_TARGET) -j $(JOBS)
	mkdir -p build-fuzz/corpus-$(FUZZ_TARGET)
	./build-fuzz/fuzz/$(FUZZ_TARGET) build-fuzz/corpus-$(FUZZ_TARGET) fuzz/corpus/$(FUZZ_TARGET) \
	  -max_total_time=$(FUZZ_SECONDS)
