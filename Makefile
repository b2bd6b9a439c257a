# yidi — the two commands a newcomer needs are `make demo` and `make test` (see README.md).
# Everything they need is installed by scripts/setup.sh, idempotently.

SHELL := /bin/bash
CARGO ?= cargo
YIDI_RELEASE := $(or $(CARGO_TARGET_DIR),target)/release/yidi
SHARED ?= ../shared

.PHONY: demo quote-demo test setup build release lint fmt bench bench-network loadgen up down status data clean

## demo: the whole network (broker, hub, agencies, exchanges), a HIS stream, and the provinces'
## finance offices paying clearing rounds (Shanghai late) on a clock running 3 days every 5 s,
## until Ctrl-C. The ministry dashboard is at http://127.0.0.1:8080/
demo: up
	@echo "== the network is up (make down stops it); dashboard: http://127.0.0.1:8080/"
	@echo "== clearing: business clock +3 days every 5 s; Shanghai (310000) pays 40 days late; log: .run/logs/provinces.log"
	@echo "== streaming discharges, Ctrl-C to stop"
	@$(YIDI_RELEASE) admin provinces --every 5 --days 3 --late 310000 --late-days 40 > .run/logs/provinces.log 2>&1 & \
		provinces=$$!; trap 'kill $$provinces 2>/dev/null' EXIT INT TERM; \
		$(YIDI_RELEASE) loadgen --rate 20 --duration 0 --duplicates 3 --drain 3 --roundtrip 0

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
	YIDI_TANSU=$$(scripts/install-broker.sh) $(CARGO) test --workspace --locked
	YIDI_TEST_POSTGRES=$$(scripts/postgres.sh start) \
		$(CARGO) test --locked -p yidi-agency --test store_backends -p yidi-hub --test desk_backends \
		-p yidi-exchange --test migrations -- --ignored
	@echo "make test: all suites passed"

## setup: install what the build and tests need (idempotent)
setup:
	@scripts/setup.sh

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --release --locked -p yidi-cli

## lint: formatting and clippy with warnings as errors
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: quote 100,000 realistic cases, clear a month of 1,000,000 bills among 31 provinces,
## and drive the whole network open loop in steps (bench-network); figures, never thresholds
bench: release
	@scripts/bench.sh "$(YIDI_RELEASE)"
	$(CARGO) run --release --locked -p yidi-clearing --example bench -- $(or $(BILLS),1000000)
	@$(MAKE) --no-print-directory bench-network

## bench-network: a fresh network (.run/bench-*), its idle CPU, the step table with CPU per
## settlement per process, and the raw broker; BROKERS="patched published" compares the
## carried tansu patch with tansu as published; STEPS=… STEP_SECONDS=… (default 60 s a step)
bench-network: setup release
	@scripts/install-broker.sh > /dev/null
	$(CARGO) build --release --locked -p yidi-hub -p yidi-agency -p yidi-exchange
	@scripts/bench-network.sh "$(YIDI_RELEASE)"

## loadgen: drive the running network (make up) for 60 s and compare with the raw broker
loadgen: release
	$(YIDI_RELEASE) loadgen --rate $(or $(RATE),100) --duration $(or $(SECONDS),60)

## data: regenerate the generated treatment catalogues
data:
	python3 scripts/gen_catalogue.py

clean:
	$(CARGO) clean
