# yidi — the two commands a newcomer needs are `make demo` and `make test` (see README.md).
# Everything they need is installed by scripts/setup.sh, idempotently.

SHELL := /bin/bash
CARGO ?= cargo
YIDI_RELEASE := $(or $(CARGO_TARGET_DIR),target)/release/yidi
SHARED ?= ../shared

.PHONY: demo test setup build release lint fmt bench data clean

## demo: build, check the embedded data, quote the spec examples and a realistic stream
demo: setup release
	@scripts/demo.sh "$(YIDI_RELEASE)" "$(SHARED)"

## test: every test of the workspace (unit, property, examples, reference oracle, CLI)
test: setup
	$(CARGO) test --workspace --locked
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

## data: regenerate the generated treatment catalogues
data:
	python3 scripts/gen_catalogue.py

clean:
	$(CARGO) clean
