# bulklink: the Makefile is the contract. `make demo` and `make test` are the quick start.
GO      ?= go
BIN     := bin/bulklink
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build test check demo bench clean

all: check test

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bulklink

# Every test, race detector on, against the in-repo Cognito emulator over loopback.
test:
	$(GO) test -race -count=1 ./...

# vet, gofmt and a tidy go.mod.
check:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff

# A sample migration against the built-in emulator, then its report.
demo: build
	./scripts/demo.sh $(BIN)

# Go benchmarks, then the end-to-end harness against the emulator (~20 min); writes
# BENCHMARKS.md. A smoke check in a few minutes: ./scripts/bench.sh --quick
bench:
	./scripts/bench.sh

clean:
	rm -rf bin out
