# The two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test engines browser lint typecheck openapi console-messages synth lambda-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[local,infra,dev]'
	touch $(STAMP)

# The detection engines (rspamd, clamd) from the Debian packages; quick when installed.
engines:
	@sh local/engines/install.sh

# Debian's chromium and its driver, for the console's browser tests; quick when installed.
browser:
	@sh tests/browser/install.sh

run: $(STAMP) engines
	$(BIN)/mailgate up

test: $(STAMP) engines browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy mailgate functions infra local ops tests/support
	MAILGATE_BROWSER_REQUIRED=1 $(BIN)/pytest -q
	# The slow tests (e.g. a 50,000-row export) on a gateway of their own, so the rows they
	# write do not slow every other test's queries.
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy mailgate functions infra local ops tests/support

# The API's OpenAPI document, generated from the routers (a test fails when it is stale).
openapi: $(STAMP)
	$(BIN)/python -m local.openapi

# The admin console's message catalog (web/messages.json) from mailgate/catalog.py.
console-messages: $(STAMP)
	$(BIN)/python -m local.console_messages

# Offline, no Docker: one template per region and the staged assets in cdk.out/.
# A deployable synth needs `make lambda-deps` first (otherwise the layer is empty).
synth: $(STAMP)
	rm -rf cdk.out
	CDK_OUTDIR=cdk.out $(BIN)/python infra/app.py
	@ls cdk.out/*.template.json

# The Lambda layer: pyproject.toml's dependencies as arm64 / Python 3.12 wheels (needs PyPI).
lambda-deps: $(STAMP)
	rm -rf build/lambda-deps build/lambda-wheels
	mkdir -p build
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > build/lambda-requirements.txt
	# Some dependencies (dkimpy, pyspf, geoip2fast) publish only source: built here as wheels
	# (pure Python), so the platform install below can take them.
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir build/lambda-wheels -r build/lambda-requirements.txt
	$(BIN)/pip install --quiet --target build/lambda-deps/python --platform manylinux2014_aarch64 --implementation cp --python-version 3.12 --only-binary=:all: --find-links build/lambda-wheels --no-compile -r build/lambda-requirements.txt

clean:
	rm -rf $(VENV) cdk.out .mypy_cache .pytest_cache .ruff_cache
