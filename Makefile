# Galaxy Zoo pipeline. The targets follow the workflow: preprocess once, train, submit.
# Variables can be set on the command line, e.g. `make preprocess DATA=~/kaggle/galaxy-zoo`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DATA   ?= data/synthetic
CACHE  ?= cache
RUN    ?= runs/default
JOBS   ?= 2
SUBMISSION ?= $(RUN)/submission.csv
# size of the synthetic set that `make synth` and `make demo` write
SYNTH_TRAIN ?= 3000
SYNTH_TEST  ?= 1000
SEED   ?= 0
# extra flags, e.g. PREPROCESS_FLAGS="--valid 1000 --skip-bad"
PREPROCESS_FLAGS ?=

.PHONY: help install test lint synth demo preprocess inspect verify train evaluate submit score bench clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'
	@echo "  variables: DATA=$(DATA) CACHE=$(CACHE) RUN=$(RUN) JOBS=$(JOBS)"

install: $(VENV)/.installed ## create .venv and install the project (editable, with dev tools)

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

test: install ## run the test suite
	$(PY) -m pytest -q

lint: install ## ruff
	$(VENV)/bin/ruff check .

synth: $(DATA)/training_solutions_rev1.csv ## write a synthetic data set in the Kaggle layout to DATA

$(DATA)/training_solutions_rev1.csv: | install
	$(PY) -m preprocess synth --out $(DATA) --train $(SYNTH_TRAIN) --test $(SYNTH_TEST) --seed $(SEED) --jobs $(JOBS) \
		--sheet $(DATA)/contact_sheet.png

preprocess: install ## decode DATA's JPEGs once into HDF5 shards in CACHE (resumable)
	$(PY) -m preprocess run --data $(DATA) --cache $(CACHE) --jobs $(JOBS) $(PREPROCESS_FLAGS)

inspect: install ## summarise CACHE and draw CACHE/contact_sheet.png
	$(PY) -m preprocess inspect $(CACHE) --png $(CACHE)/contact_sheet.png

verify: install ## re-hash and check every shard of CACHE
	$(PY) -m preprocess verify $(CACHE)

$(CACHE)/manifest.json: $(DATA)/training_solutions_rev1.csv
	$(PY) -m preprocess run --data $(DATA) --cache $(CACHE) --jobs $(JOBS) $(PREPROCESS_FLAGS)

demo: $(CACHE)/manifest.json ## the whole pipeline on a small synthetic set, in minutes on a CPU

bench: install ## benchmarks (bench/)
	$(PY) -m bench

clean: ## remove the cache, runs and synthetic data (keeps .venv)
	rm -rf $(CACHE) runs data/synthetic
