# Two commands on a fresh machine:
#   make demo   runs the main job offline on the embedded model
#   make test   runs ruff, mypy, the layout check (scripts/check_layout.py) and the test suite
# Both set up .venv on first use, and install again only when pyproject.toml has changed since.

PYTHON ?= python3
VENV := .venv
# The console script is written by the install itself, so it doubles as the stamp: it exists only
# once an install finished, and its age is the install's. A .venv made by hand with the README's
# long-hand command is therefore reused as it is.
STAMP := $(VENV)/bin/tinytroupe
# llama-cpp-python is compiled from source: these flags build it for any x86-64 CPU with AVX2 (a
# default -march=native build crashed on some CPUs). Keep them identical to the README's.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF
EXTRAS := local,distributed,parquet,tools,dashboard,dev
# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-m "not integration"'
PYTEST_ARGS ?=

.PHONY: demo test bench setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV) && CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(VENV)/bin/pip install -e ".[$(EXTRAS)]"
	touch $@

demo: $(STAMP)
	$(VENV)/bin/tinytroupe run examples/focus_group.yaml

# Every check runs even when an earlier one fails, so one run shows everything to fix; the target
# fails if any did. pytest exits 5 when it collected nothing: a missing or mis-configured suite.
test: $(STAMP)
	@failed=""; \
	echo "$(VENV)/bin/ruff check tinytroupe tinytroupe_pytest tests benchmarks scripts"; \
	$(VENV)/bin/ruff check tinytroupe tinytroupe_pytest tests benchmarks scripts || failed="$$failed ruff"; \
	echo "$(VENV)/bin/mypy tinytroupe tinytroupe_pytest"; \
	$(VENV)/bin/mypy tinytroupe tinytroupe_pytest || failed="$$failed mypy"; \
	echo "$(VENV)/bin/python scripts/check_layout.py"; \
	$(VENV)/bin/python scripts/check_layout.py || failed="$$failed check_layout"; \
	echo "$(VENV)/bin/python -m pytest $(PYTEST_ARGS)"; \
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is missing or mis-configured" >&2; fi; \
	if [ $$rc -ne 0 ]; then failed="$$failed pytest"; fi; \
	if [ -n "$$failed" ]; then echo "make test failed:$$failed" >&2; exit 1; fi

# Every benchmark's --quick mode (figures printed, not judged): fails when one no longer runs.
bench: $(STAMP)
	$(VENV)/bin/python scripts/run_benchmarks.py
