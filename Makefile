# wangge (网格) — the two commands are `make demo` and `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
WANGGE := $(VENV)/bin/wangge
UV := .tools/bin/uv
SIZE ?= S
SEED ?= 1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv demo test lint bench serve clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

## venv: create or update the environment: locked Python packages, front-end assets, translations
venv: $(UV)
	$(UV) sync --locked --quiet
	@if [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -d node_modules/leaflet ]; then \
		npm ci --no-audit --no-fund --loglevel=error; fi
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext)
	@if [ -d src/wangge/locale ]; then cd src/wangge && ../../$(WANGGE) compilemessages -v 0; fi

## demo: the working platform with the demo city on http://$(HOST):$(PORT)
demo: venv
	$(WANGGE) migrate --no-input -v 0
	$(WANGGE) collectstatic --no-input -v 0
	$(WANGGE) demo --size $(SIZE) --seed $(SEED)
	@# The background jobs (figures, escalation) run beside the server and stop with it.
	$(WANGGE) worker & WORKER=$$!; trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
		$(WANGGE) runserver $(HOST):$(PORT) --noreload

serve: venv
	$(WANGGE) runserver $(HOST):$(PORT)

## test: ruff, the suite on SQLite and PostgreSQL, then the browser tests
test: venv
	@# Two workers: the machine has two cores (pytest-xdist); each worker has its own databases.
	bash scripts/run-tests.sh -n 2

lint: venv
	$(VENV)/bin/ruff check src tests bench

## bench: every benchmark under bench/, each printing JSON
bench: venv
	bash scripts/run-bench.sh
	$(PY) bench/intake.py --db postgres | tail -n 1 > "$${WANGGE_VAR_DIR:-var}/bench/intake-postgres.json"
	@cat "$${WANGGE_VAR_DIR:-var}/bench/intake-postgres.json"

clean:
	rm -rf $(VENV) .tools node_modules var
