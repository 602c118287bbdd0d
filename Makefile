# MedSegText — `make test` and `make up` bootstrap .venv on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-10)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install test-tools up test test-services lint audit bench clean images docker-tools compose-test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[training,dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download its own browsers here),
# docker-compose for the check of compose.yaml in tests/deploy, dicom3tools (dciodvfy) to
# validate the stored films and the DICOM SEG/SR exports against their IODs, and Orthanc, the
# PACS that sends studies to the DICOM node in tests/dicom_node (the package starts no service).
test-tools:
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null \
	  && command -v dciodvfy >/dev/null && command -v Orthanc >/dev/null || { \
	  apt-get update -qq && apt-get install -y -qq chromium docker-compose dicom3tools orthanc; }

# exec: the stack's process replaces the recipe's shell, so it is make's only child. A SIGTERM
# to make is passed on to it by make; SIGINT or SIGTERM to it stops everything. (GNU make
# passes on no SIGINT: Ctrl-C reaches both through the terminal.) UP_ARGS: e.g. --port 8001.
up: install
	exec $(BIN)/python -m backend.devstack $(UP_ARGS)

# The portal's venv first: the compose/ECS checks of its settings import the portal's own config,
# and would skip on a fresh clone when they run before the browser tests set it up.
test: install test-tools
	frontend/run.sh --setup-only
	$(BIN)/python -m pytest

# The suites that use SQL, Redis and S3, again on whatever DATABASE_URL / REDIS_URL name (CI runs
# them on its PostgreSQL and Redis after `make test` ran them on the embedded default; the fault
# tests start their own redis-server, which they restart, and put PostgreSQL behind a proxy).
test-services: install
	$(BIN)/python -m pytest tests/backend tests/worker tests/security tests/faults tests/dicom_node

# The portal has its own venv (frontend/.venv: reflex and arq need different redis clients), so
# mypy checks it in a second run against that venv's packages (pyproject.toml [tool.mypy]).
# Then the layer contracts (pyproject.toml [tool.importlinter]), frontend/ on the path so that
# lint-imports finds the portal's package.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	test -x frontend/.venv/bin/python || frontend/run.sh --setup-only
	MYPYPATH=frontend $(BIN)/mypy --python-executable frontend/.venv/bin/python -p portal \
	  -m rxconfig -m reflex_lock -m build_key -m prod_run
	PYTHONPATH=frontend $(BIN)/lint-imports

# Known vulnerabilities in the installed dependencies: pip-audit, then PyPI's project pages for
# what it could not look up (.ci/audit.py); AUDIT_STRICT=1 also fails on packages left unaudited.
audit: install
	$(BIN)/python .ci/audit.py

# Every image of docker/ (docker/build_images.sh: a Debian base from debootstrap where no
# registry is reachable; a Docker engine is started if none answers). IMAGES="api worker": some.
images: docker-tools
	docker/build_images.sh $(IMAGES)

# Debian's Docker engine (dockerd, started by docker/engine.sh when none answers), debootstrap
# for the local base where no registry is reachable, docker-compose for compose-test.
docker-tools:
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null \
	  && command -v docker-compose >/dev/null || { \
	  apt-get update -qq && apt-get install -y -qq docker.io debootstrap docker-compose; }

# The product in its containers (compose.yaml + compose.local.yaml, the images of `make images`):
# health checks, a film through, data kept across down/up, a worker killed mid-job, the DICOM
# node, the SageMaker server, the browser suite, the images' rules (tests/containers).
compose-test: install test-tools docker-tools
	eval "$$(docker/engine.sh)" && MEDSEGTEXT_CONTAINER_TESTS=1 \
	  $(BIN)/python -m pytest tests/containers -s

bench: install
	$(BIN)/python bench/inference_speed.py
	$(BIN)/python bench/upload_throughput.py -n 100

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
