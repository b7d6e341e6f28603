# Arca. `make run` starts a development deployment in ./arca-data;
# `make test` runs every test (Go, fuzz smoke, official Python/JS/Go clients).

GO        ?= go
BIN       := bin/arca
DATA      ?= ./arca-data
FUZZTIME  ?= 8s

.PHONY: all build run test test-go fuzz test-clients vet bench microbench clean help

all: build

build: ## Build bin/arca
	$(GO) build -o $(BIN) ./cmd/arca

run: build ## Start Arca on its embedded store in $(DATA) (prints how to connect)
	./$(BIN) serve --data $(DATA)

test: vet test-go fuzz test-clients ## Everything CI runs

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

test-go: ## Unit, conformance and in-process end-to-end tests (race detector on)
	$(GO) test -race -count=1 -timeout 20m ./...

# Every Fuzz target, a short run each (the seed corpora also run in test-go).
fuzz: ## Fuzz smoke: each FuzzXxx for $(FUZZTIME)
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

test-clients: build ## Official Python, JS and Go live suites against Arca
	ARCA_BIN=$(CURDIR)/$(BIN) bash scripts/test-clients.sh

bench: build ## Arca vs this machine's ceiling, plus the 1,000,000-secret scale run (report: bench-results.md)
	./$(BIN) bench --scale $${BENCH_SCALE:-1000000} --out bench-results.md

microbench: ## go test micro-benchmarks of the hot paths (benchstat-friendly)
	$(GO) test -run '^$$' -bench . -benchmem -count $${COUNT:-5} ./identity ./storage/bolt ./rest ./barrier

clean:
	rm -rf bin .cache

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
