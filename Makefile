# One-command set-up: `make demo` (set up + run the main job), `make test` (set up + run the tests).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.archbench-installed

.PHONY: setup demo test bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/archbench compare

test: setup
	bash scripts/install_browser.sh $(VENV)
	bash scripts/install_postgres.sh
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs build *.egg-info
