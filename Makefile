# casetrail: two commands do all set-up on a fresh clone.
#   make run   start the whole system on the embedded default (SQLite under var/)
#   make test  install, start PostgreSQL and Kafka, run lint and every test tier, stop them
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help install run test lint unit integration e2e browser pg pg-stop kafka kafka-stop validate-k8s bench-intake bench-audit bench-rebuild bench-rebuild-mix bench-commands bench-billing bench-pipeline bench-stack bench-shards bench-transport clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user --disable-pip-version-check uv

# Bytecode is compiled at install (the dependencies and our own sources), as an image build
# would: every process (services, CLI, rebuild workers, tests) then starts in about a third of
# the time, even where PYTHONDONTWRITEBYTECODE keeps Python from caching it on import.
# The regulator PDF's font (Noto Sans SC, a PyPI dependency) is made into static Regular and
# Bold instances once per machine (about a minute; cached in ~/.cache/casetrail/fonts).
install: $(UV) ## install Python and every dependency from uv.lock, bytecode compiled
	$(UV) sync --frozen --all-packages --compile-bytecode
	.venv/bin/python -m compileall -q shared/src services/*/src > /dev/null
	.venv/bin/python -m casetrail.pdf_fonts > /dev/null

run: install ## start the system on SQLite and print where it listens
	./scripts/run-dev.sh

test: install ## lint, k8s manifests, then every tier: unit, integration, e2e, browser (starts PG, Kafka)
	./scripts/test.sh

lint: install ## ruff, mypy and the import-layer contracts
	$(UV) run ruff check .
	$(UV) run mypy
	$(UV) run lint-imports

unit: install ## unit tests only (no servers): the shared library's and every service's unit/
	$(UV) run pytest -q -p no:cacheprovider -m "not postgres and not kafka and not e2e" \
	  shared/tests services/*/tests/unit

integration: install ## integration tiers on SQLite, PostgreSQL and Kafka (starts them)
	./scripts/test.sh -m "not e2e and not browser" shared/tests services tests/transport \
	  tests/trust tests/hostile tests/migrations tests/deploy tests/shards tests/interop

e2e: install ## end-to-end: every service as a process, both transports (starts PG and Kafka)
	./scripts/test.sh -m e2e tests/e2e

browser: install ## the console in headless Chromium against the real services (tests/browser)
	./scripts/chromium.sh
	CASETRAIL_REQUIRE_BROWSER=1 $(UV) run pytest -q -p no:cacheprovider tests/browser

pg: ## start the project's PostgreSQL on 127.0.0.1:55432
	./scripts/pg.sh start

pg-stop: ## stop the project's PostgreSQL
	./scripts/pg.sh stop

kafka: ## start the project's Kafka on 127.0.0.1:19092
	./scripts/kafka.sh start

kafka-stop: ## stop the project's Kafka
	./scripts/kafka.sh stop

bench-rebuild: install ## projection rebuild over 1,000,000 events on PostgreSQL vs a raw read
	./scripts/with-pg.sh $(UV) run python bench/rebuild.py

validate-k8s: ## render every kustomize overlay and validate it offline (schemas + CRDs)
	./scripts/validate-k8s.sh

bench-rebuild-mix: install ## projection rebuilds over 1,000,000 events of realistic case histories
	./scripts/with-pg.sh $(UV) run python bench/rebuild_mix.py

bench-intake: install ## HTTP intake benchmark on PostgreSQL (N=100000, 1 then 2 workers)
	./scripts/with-pg.sh $(UV) run python bench/intake.py

bench-commands: install ## single contacts and payments over HTTP (wrk) vs /healthz, PostgreSQL
	./scripts/with-pg.sh $(UV) run python bench/commands.py

bench-stack: install ## what each HTTP layer costs: bare FastAPI up to the case service (wrk)
	./scripts/with-pg.sh $(UV) run python bench/stack.py

bench-billing: install ## billing runs over 1,000,000 payments / 100 agencies vs a GROUP BY
	./scripts/with-pg.sh $(UV) run python bench/billing.py

bench-pipeline: install ## placements + single commands through relay, Kafka, both consumers
	./scripts/with-pg.sh ./scripts/with-kafka.sh $(UV) run python bench/pipeline.py

bench-shards: install ## consumers on a topic two case-log shards publish to vs one log
	./scripts/with-pg.sh $(UV) run python bench/shards.py

bench-audit: install ## audit checkpoint + verify over 1,000,000 events on PostgreSQL
	./scripts/with-pg.sh $(UV) run python bench/audit.py

bench-transport: install ## relay + consumer: one transaction per poll, NOTIFY vs the plain paths
	./scripts/with-pg.sh ./scripts/with-kafka.sh $(UV) run python bench/transport.py

clean: ## remove local state (databases, dev keys)
	rm -rf var
