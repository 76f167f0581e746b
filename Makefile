# Consulate — build, test and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

export PATH := $(PATH):/opt/swift/usr/bin
SYSTEM_PACKAGES := libexpat1-dev libxml2-dev libssl-dev pkg-config
SWIFT := swift
RELEASE_SCRATCH := .build-release
BENCH_DIR := bench-data

.PHONY: all deps build test replay bench clean

all: build

## deps: install the system packages the build needs, only those missing.
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		$$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift is not installed (expected in /opt/swift/usr/bin)"; exit 1; }

build: deps
	$(SWIFT) build

## test: unit tests (including every fixture, whole and one byte at a time), then the CLI replay.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) run --skip-build consulate replay Fixtures

## replay: just the fixture transcripts.
replay: deps
	$(SWIFT) run consulate replay Fixtures

## bench: parser and translator throughput, as ratios against raw expat measured in the same run.
bench: deps
	@mkdir -p $(BENCH_DIR) .build/bench
	@[ -f $(BENCH_DIR)/stream.xml ] || python3 Benchmarks/generate-stream.py $(BENCH_DIR)
	cc -O2 -o .build/bench/expat-baseline Benchmarks/expat-baseline/expat_baseline.c -lexpat
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH) --product consulate-bench
	@{ .build/bench/expat-baseline $(BENCH_DIR)/stream.xml; \
	   $(RELEASE_SCRATCH)/release/consulate-bench --parser $(BENCH_DIR)/stream.xml; \
	   $(RELEASE_SCRATCH)/release/consulate-bench --translator $(BENCH_DIR)/presence.xml; } | tee $(BENCH_DIR)/results.txt
	@python3 Benchmarks/report.py $(BENCH_DIR)/results.txt

clean:
	rm -rf .build $(RELEASE_SCRATCH) $(BENCH_DIR)
