# The two commands of README.md. Both create .venv and install into it when needed.
#   make test   unit tests + every chapter under nbval at quick scale (AEBOOK_QUICK=1)
#   make book   every chapter executed at default scale, HTML into _build/html; a warning fails it
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two pytest workers on two cores: one torch thread each, or they thrash.
WORKERS ?= 2
THREADS ?= 1

.PHONY: test book unit nbval serve clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

test: $(STAMP)
	OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS) AEBOOK_QUICK=1 MPLBACKEND=agg \
	  $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval-lax --nbval-current-env \
	  --durations=15 tests chapters

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

book: $(STAMP)
	AEBOOK_SCALE=default $(BIN)/jupyter-book build . -W -n --keep-going

serve:
	$(BIN)/python -m http.server --directory _build/html 8000

clean:
	rm -rf _build
