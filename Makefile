# Consulate — build, test and benchmark entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# Swift lives in /opt/swift/usr/bin on the project's machines; use it when `swift` is not on PATH.
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

SWIFT := swift
SYSTEM_PACKAGES := libexpat1-dev libxml2-dev libssl-dev libsqlite3-dev pkg-config
# What `make serve` needs besides the build: openssl for the sample's certificates (`make certs`),
# and the system trust store the sample's [tls] ca-bundle names.
SERVE_PACKAGES := openssl ca-certificates
SAMPLE_CONFIG := federation.toml
RELEASE_SCRATCH := .build-release
BENCH_DATA := bench-data
BENCH_BIN := .build/bench
BENCH_RESULTS := $(BENCH_DATA)/results.txt

# The real federation peers and the tools the interop tests and the relay benchmark run: Prosody
# with libunbound (how it resolves names), ejabberd, slixmpp for external users, iproute2 and
# util-linux for the private network namespace, openssl for the test CA.
INTEROP_PACKAGES := prosody lua-unbound ejabberd python3-slixmpp iproute2 util-linux openssl
# Root is needed to create the namespace and to start Prosody and ejabberd as their own users.
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo$(if $(shell [ -t 0 ] && echo tty),, -n))

.PHONY: all deps interop-deps serve-deps build serve test interop replay bench bench-relay bench-scale certs clean

all: build

# $(call install-missing,<label>,<packages>): apt-get installs only the packages not yet there, with
# one `apt-get update`; quick and silent when everything is. sudo only when not root, never
# prompting without a terminal.
define install-missing
	@missing=""; \
	for p in $(2); do \
		dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "$(1): installing$$missing"; \
		$(AS_ROOT) apt-get update -q; \
		$(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

## deps: the system packages the build needs.
deps:
	$(call install-missing,deps,$(SYSTEM_PACKAGES))
	@command -v $(SWIFT) >/dev/null || { echo "deps: swift not found on PATH nor in /opt/swift/usr/bin" >&2; exit 1; }

## interop-deps: the peers and tools of the interop tests and the relay benchmark.
interop-deps:
	$(call install-missing,interop-deps,$(INTEROP_PACKAGES))

## serve-deps: what `make serve` needs besides the build.
serve-deps:
	$(call install-missing,serve-deps,$(SERVE_PACKAGES))

## build: debug build of every product.
build: deps
	$(SWIFT) build

## serve: Consulate with the sample federation.toml, its certificates (`make certs`) and the
## embedded SQLite store ([store] path), built in release mode in its own scratch path like `make
## bench`. The first start creates an admin token and prints it with the internal API's address;
## later starts keep the token already issued. Stop with Ctrl-C (SIGINT): the API stops, then the
## links close and the last changes are stored.
serve: deps serve-deps certs
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH) --product consulate
	@$(RELEASE_SCRATCH)/release/consulate admin-token --if-none --config $(SAMPLE_CONFIG)
	exec $(RELEASE_SCRATCH)/release/consulate serve --config $(SAMPLE_CONFIG)

## test: build everything (tests and the consulate CLI) once, run the unit tests (which include every
## fixture, whole and one byte at a time), the CLI replay of every fixture, then the interop scenarios
## against real Prosody and ejabberd.
test: deps interop-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(SWIFT) run --skip-build consulate replay Fixtures
	$(AS_ROOT) Tests/Interop/run .build/debug/consulate

## interop: only the interop scenarios (Tests/Interop): Prosody and ejabberd federating with Consulate,
## each in the SASL EXTERNAL and the dialback mode, inside a private network namespace where only
## loopback exists. Narrow it down with INTEROP_OPTIONS="--peer prosody --mode dialback --only messages".
INTEROP_OPTIONS ?=
interop: deps interop-deps
	$(SWIFT) build --product consulate
	$(AS_ROOT) Tests/Interop/run .build/debug/consulate $(INTEROP_OPTIONS)

## replay: just the fixture transcripts, through the CLI.
replay: deps
	$(SWIFT) run consulate replay Fixtures

## bench: parser (and translator) throughput, with the parser as a ratio to raw expat measured in
## the same run on the same input, and the store's rate for inbound messages; then the relay benchmark (bench-relay) and a small scale run
## (bench-scale with SMALL_SCALE). Release builds in their own scratch path, away from the debug one.
bench: deps $(BENCH_DATA)/stream.xml $(BENCH_BIN)/expat_baseline
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH) --product consulate-bench
	@bench=$(RELEASE_SCRATCH)/release/consulate-bench; \
	{ \
		$(BENCH_BIN)/expat_baseline $(BENCH_DATA)/stream.xml; \
		$$bench --parser $(BENCH_DATA)/stream.xml; \
		$$bench --translator $(BENCH_DATA)/presence.xml; \
		rm -f $(BENCH_DATA)/store.sqlite*; \
		$$bench --store $(BENCH_DATA)/store.sqlite; \
		rm -f $(BENCH_DATA)/store.sqlite*; \
	} | tee $(BENCH_RESULTS)
	@python3 Benchmarks/report.py $(BENCH_RESULTS)
	@$(MAKE) --no-print-directory bench-relay
	@$(MAKE) --no-print-directory bench-scale SCALE_OPTIONS="$(SMALL_SCALE)"

## bench-relay: the same external load through Prosody→Prosody and Prosody→Consulate in one run
## (Tests/Interop/bench_relay.py): messages/s, CPU per relayed message of each server, RTT p50/p99.
## Runs in the interop tests' private network namespace (as root, like them).
## Options for the script: make bench-relay RELAY_OPTIONS="--messages 50000 --rounds 5"
RELAY_OPTIONS ?=
bench-relay: deps interop-deps
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH) --product consulate
	@mkdir -p $(BENCH_DATA)
	$(AS_ROOT) env CONSULATE_INTEROP_SCRIPT=bench_relay.py Tests/Interop/run $(RELEASE_SCRATCH)/release/consulate \
		--json $(abspath $(BENCH_DATA))/relay.json $(RELAY_OPTIONS) | tee $(BENCH_DATA)/relay.txt

## bench-scale: one `consulate serve` holding many links (Tests/Interop/bench_scale.py): 10,000
## inbound and 10,000 outbound dialback links held idle (memory per link, idle CPU), one user's
## presence to 10,000 watchers over 1,000 domains, 50 API clients. Run by hand (about 8 minutes);
## `make bench` runs the SMALL_SCALE version. Root, in the interop tests' private network namespace.
## Options for the script: make bench-scale SCALE_OPTIONS="--links 5000 --phases a"
SCALE_OPTIONS ?=
SMALL_SCALE := --links 1000 --watchers 1000 --domains 100 --idle-seconds 5 --changes 3 --api-seconds 5
bench-scale: deps interop-deps
	$(SWIFT) build -c release --scratch-path $(RELEASE_SCRATCH) --product consulate
	@mkdir -p $(BENCH_DATA)
	$(AS_ROOT) env CONSULATE_INTEROP_SCRIPT=bench_scale.py Tests/Interop/run $(RELEASE_SCRATCH)/release/consulate \
		--json $(abspath $(BENCH_DATA))/scale.json $(SCALE_OPTIONS) | tee $(BENCH_DATA)/scale.txt

# Both inputs come from one deterministic run of the generator; regenerated when it changes.
$(BENCH_DATA)/stream.xml $(BENCH_DATA)/presence.xml &: Benchmarks/generate-stream.py
	python3 Benchmarks/generate-stream.py $(BENCH_DATA)

$(BENCH_BIN)/expat_baseline: Benchmarks/expat-baseline/expat_baseline.c | deps
	@mkdir -p $(@D)
	cc -O2 -Wall -Wextra -Werror -o $@ $< $$(pkg-config --cflags --libs expat 2>/dev/null || echo -lexpat)

## certs: a local CA and a certificate for the sample federation.toml's domain, in certs/ (not
## committed). Partners that should accept SASL EXTERNAL from us need certs/ca.pem in their trust store.
certs: certs/contoso.example.pem

# serve-deps first (order only), so that openssl is there on a fresh machine.
certs/contoso.example.pem: | serve-deps
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
