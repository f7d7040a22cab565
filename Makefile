# The two README commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/tandem serve

demo: $(STAMP)
	$(BIN)/tandem demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Storage tests run on SQLite and PostgreSQL: start the local PostgreSQL if it is down, fail if unreachable.
# The chat page's browser tests drive Debian's chromium through Playwright (never a downloaded browser).
# pytest: a worker per core (pytest-xdist), idle ones take queued tests; each gets its own databases. Bytecode
# is cached even where PYTHONDONTWRITEBYTECODE is set: rewriting the test modules' asserts is 4 s a worker.
test: lint
	bash scripts/ensure-postgres
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get install -y chromium >/dev/null; } || \
	  { echo "make test: the browser tests need /usr/bin/chromium: run 'apt-get install -y chromium' as root"; exit 1; }
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n auto --dist worksteal

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
