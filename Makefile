.PHONY: up test bootstrap unit cases demo bench api

PYTHON := .venv/bin/python

## Start the whole system locally: Azurite, the local simulator, the local Functions host (:7071).
up: bootstrap
	$(PYTHON) -m devstack up

## Play the seed's story against the stack `make up` runs (in another terminal), printing each step.
demo: bootstrap
	$(PYTHON) -m commands.demo

## Publish the case folders under cases/ to the storage in local.settings.json (or the environment).
cases: bootstrap
	$(PYTHON) -m commands.load_cases cases

## Write the API's OpenAPI document to web/src/api/openapi.json (the web app's types come from it).
api: bootstrap
	$(PYTHON) -m commands.openapi

## Run the whole test suite (starts and stops its own Azurite, sshd, ...).
test: bootstrap
	$(PYTHON) -m pytest $(PYTEST_ARGS)

## The benchmarks (bench/): each on a local stack of its own, printing ratios against references measured in the same run.
## All of them run; the target fails at the end when any missed its targets.
bench: bootstrap
	@missed=""; \
	for name in start_burst deep_pages watchers live governor sweep notify; do \
	  $(PYTHON) -m bench.$$name || missed="$$missed $$name"; \
	done; \
	if [ -n "$$missed" ]; then echo "targets missed:$$missed"; exit 1; fi

## Only the unit tests (no services needed).
unit: bootstrap
	$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

bootstrap:
	@bash devstack/bootstrap.sh
