# ragr — build, test, benchmark, lint. `make test` is the test command CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build demo test bench bench-cpu lint fmt loadtest kernels kernels-check cuda-vet gpu-check emu emu-core emu-gemm

all: build

build:
	$(GO) build $(PKGS)
	$(GO) build -o bin/ragr ./cmd/ragr

# The main job on built-in defaults: train a small cross-encoder from scratch
# on the bundled RAG-Retrieval example data (output in output/demo).
demo: build
	./bin/ragr train reranker --config examples/demo/reranker.yaml

# Every test, every SIMD tier this CPU has (the kernel tests switch tiers
# themselves), then the plain-Go build of the kernels (-tags purego), so the
# fallback that other CPUs run is tested too.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -tags purego ./kernels/cpu/ ./tensor/ ./autograd/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./kernels/cpu/ ./models/tokenizer/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./models/bert/ ./train/

bench-cpu: build
	./bin/ragr bench cpu

# Loopback load test of a running `ragr serve` (ADDR=127.0.0.1:8080).
loadtest:
	$(GO) run ./scripts/loadtest --addr $${ADDR:-127.0.0.1:8080} --requests 200 --concurrency 8 --docs 16 --duration 2m

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)
	$(GO) vet $(PKGS)
	$(GO) vet -tags purego $(PKGS)
	GOARCH=arm64 $(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

# CUDA kernels: every kernels/*.cu compiles to PTX for compute_80 (the driver
# JIT-compiles it for Ampere and Hopper), committed under kernels/ptx/ and
# embedded by package kernels, so `go build -tags cuda` needs no nvcc. nvcc
# treats every warning as an error; ptxas then assembles each module for
# sm_80 and sm_90 as a check that it assembles (register spills are printed
# as warnings: the driver JIT allocates registers again at load time).
# Needs nvcc (scripts/install-cuda.sh installs Debian's CUDA 11.8 toolkit).
NVCC ?= nvcc
PTXAS ?= ptxas
NVCCFLAGS := -arch=compute_80 -ptx -O3 -std=c++17 -Werror all-warnings
CU_SRC := $(wildcard kernels/*.cu)
CU_PTX := $(patsubst kernels/%.cu,kernels/ptx/%.ptx,$(CU_SRC))

kernels: $(CU_PTX)

kernels/ptx/%.ptx: kernels/%.cu $(wildcard kernels/*.cuh)
	@mkdir -p kernels/ptx
	NVCC="$(NVCC)" NVCCFLAGS="$(NVCCFLAGS)" ./kernels/ptx.sh $< $@
	$(PTXAS) -arch=sm_80 --warn-on-spills $@ -o /dev/null
	$(PTXAS) -arch=sm_90 --warn-on-spills $@ -o /dev/null

# Fails when kernels/ptx/ is not what `make kernels` would write now (a .cu
# edited without regenerating, or a .ptx without its .cu).
kernels-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for cu in $(CU_SRC); do \
		b=$$(basename $$cu .cu); \
		NVCC="$(NVCC)" NVCCFLAGS="$(NVCCFLAGS)" ./kernels/ptx.sh $$cu $$tmp/$$b.ptx || exit 1; \
		$(PTXAS) -arch=sm_80 --warn-on-spills $$tmp/$$b.ptx -o /dev/null || exit 1; \
		$(PTXAS) -arch=sm_90 --warn-on-spills $$tmp/$$b.ptx -o /dev/null || exit 1; \
	done && \
	diff -r $$tmp kernels/ptx >/dev/null || { diff -r $$tmp kernels/ptx | head -20; echo 'kernels/ptx is stale: run make kernels and commit it'; exit 1; } && \
	echo "kernels-check: $(words $(CU_SRC)) modules compile without warnings and kernels/ptx is current"

# The cuda build (cgo against cuda.h and libcuda.so) vets and its test
# binaries compile; -exec true keeps them from running (cu's init exits
# the process on a machine without a GPU).
cuda-vet:
	$(GO) vet -tags cuda $(PKGS)
	$(GO) test -tags cuda -count=1 -run '^$$' -exec true $(PKGS)

# The core kernel families run in the host emulator (kernels/emu: every CUDA
# thread an OS thread) against float64 references; needs g++ >= 12, no GPU.
emu-core:
	./kernels/emu/run_core.sh

# GEMM and attention (tensor-core fragments, cp.async, masks, GQA) in the
# host emulator; quick mode runs a subset of the shapes.
emu-gemm:
	./kernels/emu/run.sh quick

# Every kernel family in the host emulator (CI runs this).
emu: emu-core emu-gemm

# Builds the cuda test binaries and ragr into .gpu/ and prints the one
# command to run on a GPU machine (see scripts/gpu-check.sh).
gpu-check:
	./scripts/gpu-check.sh
