# Two commands: `make demo` runs the app with its demo; `make test` runs every check and test.
PYTHON := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint

demo:
	bash .ci/venv requirements.txt
	DEBUG=true $(PYTHON) manage.py migrate --no-input -v 0
	DEBUG=true $(PYTHON) manage.py demo --url http://$(HOST):$(PORT)/
	DEBUG=true $(PYTHON) manage.py runserver $(HOST):$(PORT)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

test:
	bash .ci/system
	bash .ci/venv requirements-dev.txt
	$(MAKE) lint
	$(PYTHON) -m pytest
