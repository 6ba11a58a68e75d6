# fishshop: the commands the README names.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: demo install lint unit test bench

demo:  ## run the shop on the embedded broker (fetches Kafka on first use)
	$(PYTHON) -m pip install -q -e .
	fishshop demo --headless

install:  ## install Java, promtool and the package with its dev tools
	bash scripts/install-test-deps.sh

lint:
	ruff check .
	ruff format --check .
	mypy
	lint-imports

unit:
	$(PYTHON) -m pytest tests/unit -q

test: install lint  ## everything CI runs: lint, unit and integration tests
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench:  ## orders per second through the shop against a bare aiokafka loop
	$(PYTHON) bench/pipeline.py
