# kiln: the two commands that do all set-up on a fresh Debian machine are
#   make run    install what is missing, build, fetch the default model, chat with it
#   make test   install what is missing, build (ASan/UBSan), run every test
.PHONY: setup models build bench dev test run cuda cuda-check fuzz fuzz-smoke format format-check clean

JOBS ?= $(shell nproc)
DEFAULT_MODEL := models/SmolLM2-135M-Instruct.Q4_1.gguf
PROMPT ?= Write a haiku about a kiln.
FUZZ_SECONDS ?= 30

setup:
	@bash scripts/setup.sh

models: setup
	@bash scripts/fetch-models.sh

# Optimized CPU build of the kiln binary only; it is always at build/kiln.
build: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target kiln
	@ln -sf release/kiln build/kiln

# Optimized build of everything, benchmarks included (build/release/bench/...).
bench: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	@ln -sf release/kiln build/kiln

# Debug + ASan/UBSan build with the tests.
dev: setup
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

# In a terminal: an interactive chat with the default model (Ctrl+C stops an answer,
# Ctrl+D or /exit quits). Otherwise (scripts, CI): one answer to PROMPT.
run: build models
	@if [ -t 0 ]; then build/kiln run -m $(DEFAULT_MODEL) --chat; \
	  else printf '%s\n' "$(PROMPT)" | build/kiln run -m $(DEFAULT_MODEL) --chat -n 128; fi

test: dev models format-check
	ctest --preset dev
	@if [ -x /usr/local/cuda/bin/nvcc ]; then $(MAKE) --no-print-directory cuda-check; \
	  else echo "test: no nvcc here, CUDA compile check skipped"; fi
	$(MAKE) --no-print-directory fuzz-smoke

# CUDA backend and kernel benchmark (compiles here; runs on the device machine).
cuda: setup
	cmake --preset cuda >/dev/null
	cmake --build --preset cuda -j $(JOBS)

# CI: compile the CUDA kernels, their tests and the kernel benchmark (nvcc, sm_90a),
# then run what needs no GPU: the benchmark's argument checks and the matmul API's
# input validation (the gpu tests skip themselves without a device).
CUDA_TARGETS ?= kiln_backend_cuda kernel_bench cuda_kernel_test
cuda-check: setup
	cmake --preset cuda >/dev/null
	cmake --build --preset cuda -j $(JOBS) --target $(CUDA_TARGETS)
	bench/kernels/cli_check.sh build/cuda/bench/kernels/kernel_bench
	build/cuda/tests/backend_cuda/cuda_kernel_test --gtest_filter='CudaMatmulValidation.*' --gtest_brief=1

fuzz: setup
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target fuzz_gguf

# A short, fixed-length fuzz run of the GGUF reader (CI); longer: make fuzz-smoke FUZZ_SECONDS=600
fuzz-smoke: fuzz
	@mkdir -p build/fuzz/corpus
	build/fuzz/fuzz/fuzz_gguf -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 \
	  build/fuzz/corpus fuzz/seeds

format:
	@git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | xargs clang-format -i

format-check:
	@git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | xargs -r clang-format --dry-run --Werror

clean:
	rm -rf build
