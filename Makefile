.PHONY: up test bootstrap unit

PYTHON := .venv/bin/python

## Start the whole system locally: Azurite, the local simulator, the local Functions host (:7071).
up: bootstrap
	$(PYTHON) -m devstack up

## Run the whole test suite (starts and stops its own Azurite, sshd, ...).
test: bootstrap
	$(PYTHON) -m pytest $(PYTEST_ARGS)

## Only the unit tests (no services needed).
unit: bootstrap
	$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

bootstrap:
	@bash devstack/bootstrap.sh
