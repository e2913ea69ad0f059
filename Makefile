# ragr — build, test, benchmark, lint. `make test` is the test command CI runs.
GO ?= go
PKGS := ./...

.PHONY: all build demo test bench bench-cpu lint fmt loadtest

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
