# Arca. `make run` starts a development deployment in ./arca-data;
# `make test` runs every test (Go, fuzz smoke, official Python/JS/Go clients).

GO        ?= go
# Go 1.27.3 from the Go module proxy (go1.26.8's standard library has known
# vulnerabilities in net/http, crypto/x509, crypto/tls and html/template that
# govulncheck reports); the go command fetches it once, about 10 s.
export GOTOOLCHAIN ?= go1.27.3
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB      := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
BIN       := bin/arca
DATA      ?= ./arca-data
FUZZTIME  ?= 8s

.PHONY: all build run test test-go fuzz test-clients test-ha ha-cluster vet bench microbench clean help

all: build

build: ## Build bin/arca
	$(GO) build -o $(BIN) ./cmd/arca

run: build ## Start Arca on its embedded store in $(DATA) (prints how to connect)
	./$(BIN) serve --data $(DATA)

test: vet test-go fuzz test-clients test-ha ## Everything CI runs

vet: ## gofmt, go vet, staticcheck and govulncheck (database built from the Go module proxy's copy)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@dir=$$($(GO) mod download -json $(VULNDB) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -n "$$dir" || { echo "vulndb: module not downloaded"; exit 1; }; \
	  $(GO) run ./scripts/vulndb -src "$$dir" -out .cache/vulndb
	$(GO) run $(GOVULNCHECK) -db file://$(CURDIR)/.cache/vulndb ./...

test-go: ## Unit, conformance and in-process end-to-end tests (race detector on)
	$(GO) test -race -count=1 -timeout 20m ./...

# Every Fuzz target, a short run each (the seed corpora also run in test-go).
fuzz: ## Fuzz smoke: each FuzzXxx for $(FUZZTIME)
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

test-clients: build ## Official Python, JS and Go live suites against Arca
	ARCA_BIN=$(CURDIR)/$(BIN) bash scripts/test-clients.sh

test-ha: build ## Arca on etcd, real processes: 3 etcd + 3 nodes, kill -9 mid-storm, cross-node consistency, Go SDK suites on a node (last line: ha: N acked, N lost, N corrupted)
	ARCA_BIN=$(CURDIR)/$(BIN) GO=$(GO) bash scripts/ha-test.sh

ha-cluster: build ## Start the README's local cluster: 3 etcd members, 3 Arca nodes, HAProxy on :8443 (Ctrl-C stops it)
	ARCA_BIN=$(CURDIR)/$(BIN) GO=$(GO) bash scripts/ha-cluster.sh

bench: build ## Arca vs this machine's ceiling, plus the 1,000,000-secret scale run (report: bench-results.md)
	$(GO) build -o bin/arca-bench ./cmd/arca-bench
	./bin/arca-bench --arca $(BIN) --scale $${BENCH_SCALE:-1000000} --out bench-results.md

microbench: ## go test micro-benchmarks of the hot paths (benchstat-friendly)
	$(GO) test -run '^$$' -bench . -benchmem -count $${COUNT:-5} ./identity ./storage/bolt ./rest/keyvault ./barrier

clean:
	rm -rf bin .cache

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
