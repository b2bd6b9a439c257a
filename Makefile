# yidi — the two commands a newcomer needs are `make demo` and `make test` (see README.md).
# Everything they need is installed by scripts/setup.sh, idempotently.

SHELL := /bin/bash
CARGO ?= cargo
YIDI_RELEASE := $(or $(CARGO_TARGET_DIR),target)/release/yidi
SHARED ?= ../shared

.PHONY: demo quote-demo test setup build release lint fmt bench loadgen up down status data clean

## demo: the whole network (broker, hub, agencies, exchanges) and a HIS stream until Ctrl-C
demo: up
	@echo "== the network is up (make down stops it); streaming discharges, Ctrl-C to stop"
	$(YIDI_RELEASE) loadgen --rate 40 --duration 0 --duplicates 3

## quote-demo: the settlement engine alone over the embedded policies and the spec examples
quote-demo: setup release
	@scripts/demo.sh "$(YIDI_RELEASE)" "$(SHARED)"

## up / down / status: the network in the background; logs under .run/logs/
up: setup
	@scripts/network.sh up

down:
	@scripts/network.sh down

status:
	@scripts/network.sh status

## test: every test — unit, property, spec examples, reference oracle, CLI contract, and
## end to end over the real broker (which scripts/install-broker.sh builds once per machine)
test: setup
	@scripts/install-broker.sh > /dev/null
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked
	YIDI_TEST_POSTGRES=$$(scripts/postgres.sh start) \
		$(CARGO) test --locked -p yidi-agency --test store_backends -- --ignored
	@echo "make test: all suites passed"

## setup: install what the build and tests need (idempotent)
setup:
	@scripts/setup.sh

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --release --locked -p yidi-cli

## lint: formatting and clippy with warnings as errors
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: quote 100,000 realistic cases and report throughput (figures, never thresholds)
bench: release
	@scripts/bench.sh "$(YIDI_RELEASE)"

## loadgen: drive the running network (make up) for 60 s and compare with the raw broker
loadgen: release
	$(YIDI_RELEASE) loadgen --rate $(or $(RATE),100) --duration $(or $(SECONDS),60)

## data: regenerate the generated treatment catalogues
data:
	python3 scripts/gen_catalogue.py

clean:
	$(CARGO) clean
