# ragr — build, test, benchmark, lint. `make test` is the test command CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build demo test bench bench-cpu lint fmt loadtest kernels kernels-check kernels90 cuda-vet fakecuda gpu-check emu emu-core emu-gemm

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
#
# A source whose header has the line `// Target: sm_90a` (Hopper only: wgmma,
# TMA) compiles with -arch=sm_90a instead and is assembled for sm_90a; that
# needs nvcc >= 12.3, so with an older nvcc `make kernels` and
# `make kernels-check` skip it, saying so (its committed PTX, if any, is then
# left unchecked). `make kernels90 OUT=dir` compiles just those sources to
# dir/<name>.ptx (on the GPU machine; see scripts/gpu-run.sh, RAGR_EXTRA_PTX).
NVCC ?= nvcc
PTXAS ?= ptxas
NVCCFLAGS := -arch=compute_80 -ptx -O3 -std=c++17 -Werror all-warnings
NVCCFLAGS_SM90A := -arch=compute_90a -ptx -O3 -std=c++17 -Werror all-warnings
# An nvcc older than 12.3 still compiles an sm_90a source's CUDA C++ for
# compute_90 (the inline wgmma/TMA PTX is copied, not assembled): a check of
# everything but the instructions themselves.
NVCCFLAGS_FRONTEND := -arch=compute_90 -ptx -O3 -std=c++17 -Werror all-warnings
SM90A_MARKER := // Target: sm_90a
PTXAS_ARCHS := sm_80 sm_90

# Evaluated only for the targets that compile kernels (not on every make).
ifneq ($(filter kernels kernels-check kernels90,$(MAKECMDGOALS)),)
CU_ALL := $(wildcard kernels/*.cu)
CU_SM90A := $(shell grep -lx '$(SM90A_MARKER)' $(CU_ALL) /dev/null 2>/dev/null)
NVCC_VERSION := $(shell $(NVCC) --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
NVCC_SM90A := $(shell v='$(NVCC_VERSION)'; [ -n "$$v" ] && { [ "$${v%%.*}" -gt 12 ] || { [ "$${v%%.*}" -eq 12 ] && [ "$${v#*.}" -ge 3 ]; }; } && echo yes)
ifeq ($(NVCC_SM90A),yes)
CU_SKIP :=
else
CU_SKIP := $(CU_SM90A)
endif
CU_SRC := $(filter-out $(CU_SKIP),$(CU_ALL))
CU_PTX := $(patsubst kernels/%.cu,kernels/ptx/%.ptx,$(CU_SRC))
CU_PTX_SM90A := $(patsubst kernels/%.cu,kernels/ptx/%.ptx,$(filter $(CU_SM90A),$(CU_SRC)))
$(CU_PTX_SM90A): NVCCFLAGS := $(NVCCFLAGS_SM90A)
$(CU_PTX_SM90A): PTXAS_ARCHS := sm_90a
endif
SKIP_MSG = (needs nvcc >= 12.3 for sm_90a; this nvcc is $(or $(NVCC_VERSION),not found))

kernels: $(CU_PTX)
	@for cu in $(CU_SKIP); do echo "kernels: skipping $$cu $(SKIP_MSG)"; done

kernels/ptx/%.ptx: kernels/%.cu $(wildcard kernels/*.cuh)
	@mkdir -p kernels/ptx
	NVCC="$(NVCC)" NVCCFLAGS="$(NVCCFLAGS)" ./kernels/ptx.sh $< $@
	@for a in $(PTXAS_ARCHS); do echo "$(PTXAS) -arch=$$a --warn-on-spills $@ -o /dev/null"; \
		$(PTXAS) -arch=$$a --warn-on-spills $@ -o /dev/null || exit 1; done

# Fails when kernels/ptx/ is not what `make kernels` would write now (a .cu
# edited without regenerating, or a .ptx without its .cu). Sources this nvcc
# cannot build (sm_90a with nvcc < 12.3) are skipped loudly after their C++
# front-end check; their committed PTX is taken as it is.
kernels-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	for cu in $(CU_SKIP); do \
		b=$$(basename $$cu .cu); \
		echo "kernels-check: skipping $$cu $(SKIP_MSG)"; \
		$(NVCC) $(NVCCFLAGS_FRONTEND) $$cu -o $$tmp/frontend.ptx || { echo "kernels-check: $$cu fails in nvcc's C++ front end"; exit 1; }; \
		rm -f $$tmp/frontend.ptx; \
		echo "kernels-check: $$cu: its CUDA C++ compiles (front end only, compute_90; its wgmma/TMA PTX is not assembled)"; \
		if [ -f kernels/ptx/$$b.ptx ]; then cp kernels/ptx/$$b.ptx $$tmp/; echo "kernels-check: kernels/ptx/$$b.ptx left unchecked"; fi; \
	done; \
	for cu in $(CU_SRC); do \
		b=$$(basename $$cu .cu); flags='$(NVCCFLAGS)'; archs='$(PTXAS_ARCHS)'; \
		if grep -qx '$(SM90A_MARKER)' $$cu; then flags='$(NVCCFLAGS_SM90A)'; archs=sm_90a; fi; \
		NVCC="$(NVCC)" NVCCFLAGS="$$flags" ./kernels/ptx.sh $$cu $$tmp/$$b.ptx || exit 1; \
		for a in $$archs; do $(PTXAS) -arch=$$a --warn-on-spills $$tmp/$$b.ptx -o /dev/null || exit 1; done; \
	done && \
	diff -r $$tmp kernels/ptx >/dev/null || { diff -r $$tmp kernels/ptx | head -20; echo 'kernels/ptx is stale: run make kernels and commit it'; exit 1; } && \
	echo "kernels-check: $(words $(CU_SRC)) modules compile without warnings and kernels/ptx is current$(if $(CU_SKIP), ($(words $(CU_SKIP)) skipped))"

# The sm_90a sources alone, to OUT/<name>.ptx, with ptxas's register and
# spill report (-v); fails when nvcc is older than 12.3.
kernels90:
	@[ -n "$(OUT)" ] || { echo 'kernels90: set OUT=dir (make kernels90 OUT=dir)'; exit 2; }
	@[ "$(NVCC_SM90A)" = yes ] || { echo "kernels90: $(SKIP_MSG)"; exit 1; }
	@mkdir -p "$(OUT)" && for cu in $(CU_SM90A); do \
		b=$$(basename $$cu .cu); \
		echo "kernels90: $$cu -> $(OUT)/$$b.ptx"; \
		NVCC="$(NVCC)" NVCCFLAGS='$(NVCCFLAGS_SM90A)' ./kernels/ptx.sh $$cu "$(OUT)/$$b.ptx" || exit 1; \
		$(PTXAS) -arch=sm_90a -v --warn-on-spills "$(OUT)/$$b.ptx" -o /dev/null || exit 1; \
	done; [ -n "$(CU_SM90A)" ] || echo "kernels90: no kernels/*.cu has the line '$(SM90A_MARKER)'"

# The cuda build (cgo against cuda.h and libcuda.so) vets and its test
# binaries compile; -exec true keeps them from running (cu's init exits
# the process on a machine without a GPU).
cuda-vet:
	$(GO) vet -tags cuda $(PKGS)
	$(GO) test -tags cuda -count=1 -run '^$$' -exec true $(PKGS)

# The cuda-tagged Go code (launchers and their tests, the tensor CUDA
# backend, the models' device checks, one `ragr train --device cuda` step)
# against a fake CUDA driver whose launches run the kernels in the host
# emulator (kernels/emu/fakecuda); needs cuda.h and libcuda.so, no GPU.
fakecuda:
	./scripts/fakecuda-test.sh

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
