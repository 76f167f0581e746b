# Consulate — build, test and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# Swift lives in /opt/swift/usr/bin on the project's machines; use it when `swift` is not on PATH.
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

SWIFT := swift
SYSTEM_PACKAGES := libexpat1-dev libxml2-dev libssl-dev pkg-config
RELEASE_SCRATCH := .build-release
BENCH_DATA := bench-data
BENCH_BIN := .build/bench
BENCH_RESULTS := $(BENCH_DATA)/results.txt

.PHONY: all deps build test replay bench certs clean

all: build

## deps: install the system packages the build needs — only those missing, with one `apt-get update`.
## Quick and silent when everything is there. sudo only when not root, and never prompting without a terminal.
deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
		dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		sudo=""; \
		if [ "$$(id -u)" -ne 0 ]; then sudo="sudo"; [ -t 0 ] || sudo="sudo -n"; fi; \
		$$sudo apt-get update -q; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "deps: swift not found on PATH nor in /opt/swift/usr/bin" >&2; exit 1; }

## build: debug build of every product.
build: deps
	$(SWIFT) build

## test: build everything (tests and the consulate CLI) once, run the unit tests (which include every
## fixture, whole and one byte at a time), then the CLI replay of every fixture.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) run --skip-build consulate replay Fixtures

## replay: just the fixture transcripts, through the CLI.
replay: deps
	$(SWIFT) run consulate replay Fixtures

## bench: parser (and translator) throughput, with the parser as a ratio to raw expat measured in
## the same run on the same input. Release build in its own scratch path, away from the debug one.
bench: deps $(BENCH_DATA)/stream.xml $(BENCH_BIN)/expat_baseline
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH) --product consulate-bench
	@bench=$(RELEASE_SCRATCH)/release/consulate-bench; \
	{ \
		$(BENCH_BIN)/expat_baseline $(BENCH_DATA)/stream.xml; \
		$$bench --parser $(BENCH_DATA)/stream.xml; \
		$$bench --translator $(BENCH_DATA)/presence.xml; \
	} | tee $(BENCH_RESULTS)
	@python3 Benchmarks/report.py $(BENCH_RESULTS)

# Both inputs come from one deterministic run of the generator; regenerated when it changes.
$(BENCH_DATA)/stream.xml $(BENCH_DATA)/presence.xml &: Benchmarks/generate-stream.py
	python3 Benchmarks/generate-stream.py $(BENCH_DATA)

$(BENCH_BIN)/expat_baseline: Benchmarks/expat-baseline/expat_baseline.c | deps
	@mkdir -p $(@D)
	cc -O2 -Wall -Wextra -Werror -o $@ $< $$(pkg-config --cflags --libs expat 2>/dev/null || echo -lexpat)

## certs: a local CA and a certificate for the sample federation.toml's domain, in certs/ (not
## committed). Partners that should accept SASL EXTERNAL from us need certs/ca.pem in their trust store.
certs: certs/contoso.example.pem

certs/contoso.example.pem:
	@command -v openssl >/dev/null || { echo "certs: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
	mkdir -p certs
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=Consulate local CA" -keyout certs/ca.key -out certs/ca.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=contoso.example" -keyout certs/contoso.example.key -out certs/contoso.example.csr 2>/dev/null
	openssl x509 -req -in certs/contoso.example.csr -CA certs/ca.pem -CAkey certs/ca.key -CAcreateserial -days 825 \
		-extfile <(printf "subjectAltName=DNS:contoso.example\nextendedKeyUsage=serverAuth,clientAuth\n") \
		-out certs/contoso.example.pem 2>/dev/null
	rm -f certs/contoso.example.csr

clean:
	rm -rf .build $(RELEASE_SCRATCH) $(BENCH_DATA)
