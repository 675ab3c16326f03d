# evident — signed, archived release evidence for regulated software.
#
#   make demo   run the wearable-monitor example end to end
#   make test   run every test (installs the tools tests need, once)
#   make lint   gofmt, go vet, actionlint
#   make build  build bin/evident and bin/evidentd
#
# The Dockerfile runs the same `make build` step.

GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
# Tools the tests need, installed once into a cache (scripts/tools.sh).
TEST_TOOLS ?= cosign timestamp-server versitygw act actionlint gitlab-ci-local

.PHONY: all build demo test test-short lint bench bench-seal bench-archive clean

all: build

build:
	$(GOBUILD) -o $(BIN)/evident ./cmd/evident
	$(GOBUILD) -o $(BIN)/evidentd ./cmd/evidentd

demo: build
	./scripts/demo.sh

test:
	@tools="$$(./scripts/tools.sh $(TEST_TOOLS))" && eval "$$tools" && $(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# actionlint on the workflows and the GitHub Action, the syntax of the
	@# action's and the GitLab template's shell, the README's CI examples.
	@tools="$$(./scripts/tools.sh actionlint)" && eval "$$tools" && \
		$(GO) test -count=1 -run '^(TestActionlint|TestShellScripts|TestREADMEExamples)$$' ./internal/interop

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -timeout 60m ./...

# The large-release benchmark at full size (docs/benchmarks.md): 1 GiB of
# artifacts, 100,000 test cases, a 20,000-component SBOM. First the real
# binary under GNU time for wall time and peak RSS, then the Go benchmark
# with its breakdown. Needs about 2.5 GB free under BENCH_DIR and TMPDIR.
BENCH_DIR ?= /tmp/evident-bench-seal
bench-seal: build
	@test -x /usr/bin/time || { echo "bench-seal needs GNU time at /usr/bin/time (Debian package: time)"; exit 1; }
	@echo "go: $$($(GO) env GOVERSION)  load: $$(cat /proc/loadavg 2>/dev/null)"
	rm -rf $(BENCH_DIR)
	$(GO) run ./tools/genrelease -out $(BENCH_DIR)/project
	EVIDENT_KEY_PASSWORD=bench ./$(BIN)/evident key generate --out $(BENCH_DIR)/key
	env $$(cat $(BENCH_DIR)/project/ci.env) EVIDENT_KEY_PASSWORD=bench /usr/bin/time -v \
		./$(BIN)/evident seal --config $(BENCH_DIR)/project/evident.yaml --key $(BENCH_DIR)/key.key --out $(BENCH_DIR)/release
	rm -rf $(BENCH_DIR)
	EVIDENT_BENCH_SCALE=full $(GO) test -run='^$$' -bench=BenchmarkSealLarge -benchmem -benchtime=3x -timeout 60m ./internal/runner

# The archive benchmark, quick version (docs/benchmarks.md, "Archive
# (evidentd)"): a throwaway evidentd on a fresh data directory holding
# 20,000 synthetic releases, then lookups, 200 pushes of small signed
# releases and a 256 MiB blob. The full-size commands (1,000,000 releases,
# a 2 GiB blob) are in docs/benchmarks.md. Needs about 400 MB under
# ARCHIVE_BENCH_DIR and TMPDIR.
ARCHIVE_BENCH_DIR ?= /tmp/evident-bench-archive-quick
bench-archive: build
	@echo "go: $$($(GO) env GOVERSION)  load: $$(cat /proc/loadavg 2>/dev/null)"
	$(GOBUILD) -o $(BIN)/loadcatalog ./tools/loadcatalog
	$(GOBUILD) -o $(BIN)/benchserver ./tools/benchserver
	rm -rf $(ARCHIVE_BENCH_DIR)
	./$(BIN)/loadcatalog -catalog sqlite://$(ARCHIVE_BENCH_DIR)/data/catalog.db -n 20000
	./$(BIN)/benchserver run -evidentd ./$(BIN)/evidentd -data $(ARCHIVE_BENCH_DIR)/data -blob-size 268435456
	rm -rf $(ARCHIVE_BENCH_DIR)

clean:
	rm -rf $(BIN) out
