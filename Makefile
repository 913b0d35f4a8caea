# bulklink: the Makefile is the contract. `make demo` and `make test` are the quick start.
GO      ?= go
BIN     := bin/bulklink
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build test check demo bench clean

all: check test

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bulklink

# Every test against the in-repo Cognito emulator over loopback, the race detector on for the
# packages. The end-to-end tests of cmd/bulklink drive the real binary; with
# BULKLINK_LONG_TESTS=1 (.ci/run sets it) they run under the race detector too, the binary
# built with it, and the long soaks and the AWS CLI walk-through run as well.
# The end-to-end tests mostly wait (on the binary, on a paced emulator): they run E2E_PARALLEL
# at a time rather than go test's default of one per core (fewer under the race detector).
PKGS := $(shell $(GO) list ./... | grep -v /cmd/)
E2E_PARALLEL ?= $(if $(filter 1,$(BULKLINK_LONG_TESTS)),4,8)
test:
	$(GO) test -race -count=1 $(PKGS)
	$(GO) test -count=1 -parallel $(E2E_PARALLEL) $(if $(filter 1,$(BULKLINK_LONG_TESTS)),-race) ./cmd/...

# vet, staticcheck, gofmt and a tidy go.mod; then every supported platform (README.md,
# Platforms) built and vetted with its tests, so that none breaks unseen, and Windows refused
# at build time with the message internal/safefile/unsupported.go gives.
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
PLATFORMS   := linux/amd64 linux/arm64 darwin/arm64 darwin/amd64
check:
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	@for p in $(PLATFORMS); do \
		echo "GOOS=$${p%/*} GOARCH=$${p#*/}: build ./cmd/bulklink, vet ./..."; \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -o /dev/null ./cmd/bulklink && \
		GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./... || exit 1; \
	done
	@echo "GOOS=windows: build ./cmd/bulklink must refuse the platform"; \
	if out=$$(GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/bulklink 2>&1); then \
		echo "it built: internal/safefile/unsupported.go no longer refuses Windows"; exit 1; \
	elif ! echo "$$out" | grep -q 'bulklink_supports_Linux_and_macOS_only'; then \
		echo "it failed, but not with the refusal (a package fails before internal/safefile?):"; echo "$$out"; exit 1; \
	fi

# A sample migration against the built-in emulator, then its report. It builds first, and
# says so: the first build on a machine compiles every module of go.mod, the AWS SDK's among
# them, and prints nothing meanwhile (see README, Quick start, for how long it takes).
demo:
	@echo "== building $(BIN) (the first build on a machine compiles the AWS SDK and the other modules: about 80 s on two cores; then a few seconds)"
	@$(MAKE) --no-print-directory build
	./scripts/demo.sh $(BIN)

# Go benchmarks, then the end-to-end harness against the emulator (~45 min); writes
# BENCHMARKS.md. A smoke check in a few minutes: ./scripts/bench.sh --quick
bench:
	./scripts/bench.sh

clean:
	rm -rf bin out
