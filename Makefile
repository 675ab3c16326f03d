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
TEST_TOOLS ?= cosign

.PHONY: all build demo test test-short lint bench clean

all: build

build:
	$(GOBUILD) -o $(BIN)/evident ./cmd/evident
	$(GOBUILD) -o $(BIN)/evidentd ./cmd/evidentd

demo: build
	./scripts/demo.sh

test:
	@eval "$$(./scripts/tools.sh $(TEST_TOOLS))" && $(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -timeout 60m ./...

clean:
	rm -rf $(BIN) out
