# Townhall: everything a newcomer needs is one of these targets.
#   make run    serve the webhook on http://127.0.0.1:8080/ (files backend, example tenants), the
#               upstream fakes on :8090 and the chat gateway with demo pages on :8081
#   make test   run the whole suite (starts and stops the Firestore emulator itself)
#   make bench  measure throughput, latency, cold import and settings reads against baselines,
#               and the simulator classifier's speed and held-out accuracy
#   make soak   hostile traffic, a sick upstream and oversized bodies against a real server, with
#               the figures docs/reliability.md keeps (a few minutes; not part of make test)
#   make bundle build/function/ and build/function.zip, the webhook's Cloud Functions source
#   make plan   terraform init and validate (and plan, with TOWNHALL_STATE_BUCKET set): infra/README.md

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-aws.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8080
FAKES_PORT ?= 8090
CHAT_PORT ?= 8081
# Server threads (functions-framework's gunicorn reads THREADS): as many as the requests one
# instance is sent at once in production (infra: function.concurrency), so a few idle or slow
# connections cannot take every thread (docs/reliability.md).
THREADS ?= 20

.PHONY: run serve test lint checkov bench soak bundle plan clean

$(STAMP): requirements.txt requirements-aws.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

# make run serves copies of the tenant files whose upstream addresses point at the fakes it
# serves (on FAKES_PORT), so every journey works on any PORT/FAKES_PORT. `make serve` is the same
# without the install check (tests/test_run.py).
SANDBOX ?= .townhall/run-$(FAKES_PORT)/tenants

run: $(STAMP)
	@$(MAKE) --no-print-directory serve

serve:
	@echo ""
	@echo "Townhall webhook on http://$(HOST):$(PORT)/ (files backend: $(SANDBOX), copies of infra/tenants; demo tenants oxford and cardiff)"
	@echo "Upstream fakes (the sandbox the demo tenants use) on http://$(HOST):$(FAKES_PORT)/"
	@echo "Chat gateway (the residents' widget and its API) on http://$(HOST):$(CHAT_PORT)/ ; demo pages: http://$(HOST):$(CHAT_PORT)/demo/oxford and http://$(HOST):$(CHAT_PORT)/demo/cardiff"
	@echo "  (the offline simulator stands in for Dialogflow at http://$(HOST):$(FAKES_PORT)/dialogflow; its classifiers take a few seconds to fit)"
	@echo "What to try, per journey and language: docs/demo.md"
	@echo "Send a first request from another terminal (dev password in README.md):"
	@echo "  curl -s -u oxford:townhall-dev-oxford -H 'Content-Type: application/json' --data @examples/request.json http://$(HOST):$(PORT)/"
	@echo "Make your own request: $(BIN)/townhall request cardiff welcome.hello --lang cy"
	@echo "Or chat in the terminal (offline simulator, its own webhook): $(BIN)/townhall chat oxford   (or: cardiff --lang cy)"
	@echo ""
	@rm -f $(SANDBOX)/*.yaml
	@TOWNHALL_FAKE_DIALOGFLOW_WEBHOOK=http://$(HOST):$(PORT)/ TOWNHALL_FAKE_DIALOGFLOW_WARM=1 $(BIN)/townhall fakes serve --host $(HOST) --port $(FAKES_PORT) --sandbox-tenants $(SANDBOX) & fakes=$$!; \
	trap 'kill $$fakes $$chat 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 150); do ls $(SANDBOX)/*.yaml >/dev/null 2>&1 && break; \
	  kill -0 $$fakes 2>/dev/null || { echo "the upstream fakes did not start (is port $(FAKES_PORT) free?)" >&2; exit 1; }; \
	  sleep 0.1; done; \
	TOWNHALL_SETTINGS_BACKEND=files TOWNHALL_TENANTS_DIR=$(SANDBOX) TOWNHALL_DIALOGFLOW_ENDPOINT=http://$(HOST):$(FAKES_PORT)/dialogflow TOWNHALL_CHAT_DEV=1 $(BIN)/functions-framework --target chat --source functions/main.py --host $(HOST) --port $(CHAT_PORT) & chat=$$!; \
	THREADS=$(THREADS) MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 TOWNHALL_SETTINGS_BACKEND=files TOWNHALL_TENANTS_DIR=$(SANDBOX) TOWNHALL_DEV_CLOCK=1 $(BIN)/functions-framework --target webhook --source functions/main.py --host $(HOST) --port $(PORT)

# IaC security scan of infra/ (Google and AWS Terraform) with checkov, in a virtualenv of its own under
# .tools/ so that its many dependencies never meet ours. Every deliberate exception is a
# #checkov:skip comment with its reason, in the resource itself (infra/README.md, "Security scan").
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

$(CHECKOV_STAMP):
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	@rm -f $(CHECKOV_VENV)/.installed-*
	@touch $@

checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -d infra --framework terraform --skip-download --quiet --compact

lint: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(MAKE) --no-print-directory checkov

test: $(STAMP) lint browser-deps
	$(BIN)/python -m pytest

# The chat widget's browser tests (tests/test_browser.py, docs/webchat.md): Debian's Chromium
# (installed here when missing, as root or with sudo) and the npm packages pinned in package-lock.json.
.PHONY: browser-deps
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -q && sudo apt-get install -y -q chromium; \
	  else echo "The browser tests need Debian's Chromium at /usr/bin/chromium: run 'apt-get install chromium' as root" >&2; exit 1; fi; }
	@command -v npm >/dev/null 2>&1 || { echo "The browser tests need Node.js and npm (apt-get install nodejs npm)" >&2; exit 1; }
	@test node_modules/.package-lock.json -nt package-lock.json || npm ci --no-audit --no-fund --loglevel=error

bench: $(STAMP)
	$(BIN)/python bench/nlu.py
	$(BIN)/python bench/run.py
	$(BIN)/python bench/chat.py
	$(BIN)/python bench/aws.py

# Each part stops on its own within about three minutes; loopback only (docs/reliability.md).
# Every bench/soak_*.py is one part (soak_support.py is their shared code): a new part is a new file.
soak: $(STAMP)
	@set -e; for part in $(filter-out bench/soak_support.py,$(sort $(wildcard bench/soak_*.py))); do \
		echo "== $$part"; $(BIN)/python $$part; done

bundle:
	$(PYTHON) infra/scripts/bundle.py

plan: bundle
	infra/scripts/ci.sh plan

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build .venv-bundle .tools
