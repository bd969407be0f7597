# Two commands on a fresh machine: `make demo` (gitpipe and what it needs to
# run, nothing more) and `make test` (adds every extra and the test and lint
# tools); `make test` alone does both.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install demo test s3rver browser lint cli-reference bench bench-status bench-transfer bench-k8s bench-smoke clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $(DEMO_STAMP)

$(TEST_STAMP): pyproject.toml $(DEMO_STAMP)
	$(PY) -m pip install -q -e '.[all,test]'
	touch $(TEST_STAMP)

install: $(TEST_STAMP)

demo: $(DEMO_STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" bash examples/demo.sh

test: $(TEST_STAMP) s3rver browser
	$(PY) -m pytest -q

# A second S3 implementation for the contract suite (npm's s3rver), cached
# outside the repository; the tests skip it where node is missing.
S3RVER_DIR ?= $(HOME)/.cache/gitpipe-test/s3rver
s3rver:
	@if command -v npm >/dev/null && [ ! -f $(S3RVER_DIR)/node_modules/s3rver/bin/s3rver.js ]; then \
		npm install --silent --no-audit --no-fund --prefix $(S3RVER_DIR) s3rver@3.7.1; fi

# Headless Chromium for the report's browser tests (tests/browser/): Debian's
# packages, installed when missing and we are root with apt-get; the tests skip
# without them (and fail under GITPIPE_BROWSER_REQUIRE, as in CI).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; fi

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check gitpipe tests benchmarks scripts
	$(VENV)/bin/mypy

# docs/reference/cli.md from the click commands (a test fails when it drifts).
cli-reference: $(DEMO_STAMP)
	$(PY) scripts/cli_reference.py

# gitpipe next to DVC, Snakemake and Make (peers in their own venv under
# benchmarks/.work/); QUICK=1 for a five-minute version. Results land in
# benchmarks/results/ (peers-latest.md).
bench: $(TEST_STAMP)
	$(PY) benchmarks/bench_peers.py $(if $(QUICK),--quick,)

bench-status: $(TEST_STAMP)
	$(PY) benchmarks/bench_status.py

bench-transfer: $(TEST_STAMP)
	$(PY) benchmarks/bench_transfer.py

# Jobs on the loopback Kubernetes control plane: gitpipe against a bare client loop.
bench-k8s: $(TEST_STAMP)
	bash scripts/k8s-testbed.sh build
	$(PY) benchmarks/bench_k8s.py $(if $(QUICK),--jobs 20 --concurrency 5 --rounds 1,)

# What CI runs so the benchmark scripts cannot rot (gitpipe and make, tiny sizes).
bench-smoke: $(TEST_STAMP)
	$(PY) benchmarks/bench_peers.py --smoke

clean:
	rm -rf $(VENV) .demo benchmarks/.work
