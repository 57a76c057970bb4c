# minutes-qa — `make serve` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CLI := $(VENV)/bin/minutes-qa
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install encoder index serve lint test test-fast browser-deps axe-deps ocr-deps eval train screenshots bench clean

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	# CPU torch first: installing sentence-transformers without it pulls a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# The fine-tuned encoder is rebuilt from its committed recipe (service/data/encoder.json) when
# this machine does not have it yet: ~17 minutes on one thread, once.
encoder: install
	@$(CLI) train-encoder

index: encoder
	@$(CLI) index --check >/dev/null 2>&1 || $(CLI) index

serve: index
	$(CLI) serve

# Debian Chromium for the browser tests (never `playwright install`). Without root or apt the
# browser tests skip and say why (pytest -rs) — except in CI (CI=true), where this target fails.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "browser-deps: could not install chromium; browser tests will be skipped"; [ -z "$$CI" ]; }; \
	else echo "browser-deps: chromium missing and cannot be installed here; browser tests will be skipped"; \
	  [ -z "$$CI" ]; fi

# axe-core (pinned) for the accessibility checks of the browser tests (tests/axe.py), from npm into the
# git-ignored .cache/node. Without npm or the network the checks skip and say why — except in CI,
# where this target fails (and tests/ci_skips.py fails a skipped check).
AXE_VERSION := 4.11.0
AXE_DIR := .cache/node
axe-deps:
	@if grep -qs '"version": "$(AXE_VERSION)"' $(AXE_DIR)/node_modules/axe-core/package.json; then :; \
	elif command -v npm >/dev/null 2>&1 && npm install --silent --no-save --no-audit --no-fund --prefix $(AXE_DIR) axe-core@$(AXE_VERSION); then :; \
	else echo "axe-deps: could not install axe-core $(AXE_VERSION) from npm; the accessibility checks will be skipped"; \
	  [ -z "$$CI" ]; fi

# OCR of scanned PDF pages (`minutes-qa index --ocr`) uses Debian's tesseract; the tests need it.
ocr-deps:
	@if command -v tesseract >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null) \
	  || { echo "ocr-deps: could not install tesseract-ocr; OCR tests will be skipped"; [ -z "$$CI" ]; }; \
	else echo "ocr-deps: tesseract missing and cannot be installed here; OCR tests will be skipped"; \
	  [ -z "$$CI" ]; fi

# The gates (settings in pyproject.toml): ruff lint and format check on all the Python, mypy on
# the three packages. `make test` runs them first.
lint: install
	$(VENV)/bin/ruff check indexer service eval tests bench && \
	  $(VENV)/bin/ruff format --check indexer service eval tests bench && \
	  $(VENV)/bin/mypy indexer service eval

test: install lint browser-deps axe-deps ocr-deps index
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not real_model and not browser"

# The evaluation report (test split headline, train gap, ablations) → eval/REPORT.md.
eval: index
	$(CLI) eval --compare --report eval/REPORT.md

# Refit the answer scorer on the train split (cross-fitted encoders; ~10 minutes).
train: index
	$(CLI) train

# Refresh the committed screenshots in docs/screenshots (tests write theirs to a temporary folder).
screenshots: install browser-deps index
	MINUTES_QA_SCREENSHOTS=docs/screenshots $(PY) -m pytest -q tests/service/test_browser.py

bench: index
	$(PIP) install -q -e '.[dev,bench]'
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) index .pytest_cache
