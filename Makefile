# faqbot: `make run` sets up and runs the bot; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint bench clean postgresql redis-server

# the same install script as the container image (Dockerfile): CPU torch first, then faqbot
$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) scripts/install.sh $(VENV) dev
	touch $(STAMP)

setup: $(STAMP)

# the same start script as the container image
run: $(STAMP)
	VENV=$(VENV) scripts/start.sh

test: $(STAMP) postgresql redis-server
	$(BIN)/ruff check .
	$(BIN)/mypy
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# The Postgres tests start a real server (Debian's package); install it when it is missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

# The shared-state tests start a real Redis server (Debian's package); install it when missing.
redis-server:
	@command -v redis-server >/dev/null 2>&1 \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench

clean:
	rm -rf $(VENV) .faqbot build *.egg-info
