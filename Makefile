# Two entry points: `make demo` (the main job) and `make test`. Each creates .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TRANSFORMERS_VERBOSITY := error

.PHONY: demo test test-all lint bench clean browser screenshots

# QUIET_INSTALL: setuptools prints a screen of warning on every editable install of a package-dir layout
# (engine/ -> anyseek.engine) that a folder named like the package might shadow it; none here can.
QUIET_INSTALL := PYTHONWARNINGS=ignore::UserWarning
# -qq: pip's own warnings too (a machine whose pip.conf names a missing local index printed one line per
# package, ~150); errors, a resolver conflict included, still print
PIP_QUIET := -qq

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip
	$(QUIET_INSTALL) $(BIN)/python -m pip install $(PIP_QUIET) -e '.[dev,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python data/demo.py

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -q -m ''

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable). Installed
# here when missing and we may (root with apt-get); otherwise those tests skip with one line saying why.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
	      || echo "!!! could not install chromium: the browser tests will be skipped"; \
	  else echo "!!! $(CHROMIUM) missing and not root with apt-get: the browser tests will be skipped"; fi; }

# docs/screenshots/: the web page's main views, desktop and phone, light and dark.
screenshots: $(STAMP) browser
	$(BIN)/python -m tests.browser.screenshots

# Benchmarks (not tests: nothing asserts a timing). QUICK=1 for a smoke run; ONLY="images ann" for some.
bench: $(STAMP)
	$(QUIET_INSTALL) $(BIN)/python -m pip install $(PIP_QUIET) -e '.[dev,bench]'
	$(BIN)/python -m bench.run $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY)) --out bench-results/results.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check anyseek engine indexer media cli server tests

clean:
	rm -rf $(VENV) demo-out .pytest_cache
