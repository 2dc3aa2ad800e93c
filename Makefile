# Galaxy Zoo pipeline. The targets follow the workflow: preprocess once, train, submit.
# Variables can be set on the command line, e.g. `make preprocess DATA=~/kaggle/galaxy-zoo`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# the Galaxy Zoo campaign: kaggle (fractions, Kaggle's layout) or one with vote counts, e.g. decals, whose synthetic
# set, cache and run get folders of their own (`make demo CAMPAIGN=decals`)
CAMPAIGN ?= kaggle
COUNTS := $(filter-out kaggle,$(CAMPAIGN))
DATA   ?= data/synthetic$(COUNTS:%=-%)
CACHE  ?= cache$(COUNTS:%=-%)
RUN    ?= runs/default$(COUNTS:%=-%)
# a campaign's catalog with vote counts (the synthetic campaign's by default), and the test galaxies' votes
VOLUNTEERS_CATALOG ?= $(DATA)/gz_decals_volunteers.csv
TEST_VOLUNTEERS ?= $(DATA)/test_volunteers.csv
JOBS   ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
SUBMISSION ?= $(RUN)/submission.csv
# `make predict`: images, folders or path lists to catalogue, and where the catalog and its gallery go
IMAGES ?= $(DATA)/images_test_rev1
CATALOG ?= $(RUN)/catalog.csv
GALLERY ?= $(basename $(CATALOG))_gallery.png
# `make finetune`: a new run (NEW) of your own question, from RUN's trunk and the labels in LABELS (a CSV with
# GalaxyID, whose images are in DATA, or path, and label columns); see `python -m train finetune --help`
LABELS ?= labels.csv
NEW    ?= runs/finetuned
FINETUNE_FLAGS ?=
# processes that run the test suite (pytest-xdist); 2 for CI's 2 cores
TEST_WORKERS ?= 2
# size of the synthetic set that `make synth` and `make demo` write
SYNTH_TRAIN ?= 6000
SYNTH_TEST  ?= 1000
SEED   ?= 0
# galaxies held out for validation: 4000 like the seed, 500 for a synthetic set (the shell tells them apart
# when the command runs, after `make synth`: only a synthetic set has test_expected.csv)
VALID ?= $$(test -f $(DATA)/test_expected.csv && echo 500 || echo 4000)
# galaxies held back from training and validation alike, to calibrate the intervals (`make calibrate`): 2000 of
# Kaggle's 61,578, 500 of a synthetic set
CALIBRATE ?= $$(test -f $(DATA)/test_expected.csv && echo 500 || echo 2000)
# extra flags, e.g. PREPROCESS_FLAGS=--skip-bad TRAIN_FLAGS="--recipe seed" SUBMIT_FLAGS="--tta 1"
# PREDICT_FLAGS="--crop-fraction 1.0 --skip-bad"
PREPROCESS_FLAGS ?=
# a campaign with vote counts trains on them with the Dirichlet-multinomial (its intervals of the votes need it)
TRAIN_FLAGS ?= $(if $(COUNTS),--loss dirichlet)
SUBMIT_FLAGS ?=
PREDICT_FLAGS ?=
# the demo's training budget in minutes (the whole demo stays under 15 minutes on 2 CPU cores)
DEMO_MINUTES ?= 9
# `make quality`: minutes of training per candidate recipe; `make campaign-bench`: per run, and its training seeds
QUALITY_MINUTES ?= 20
CAMPAIGN_SEEDS ?= 2
# `make bench-cpu`: rounds, and the rows to measure (names separated by ";", e.g. "oneDNN in full;the project's
# default, nothing set"; all rows and the CPU's limit when empty)
CPU_ROUNDS ?= 3
CPU_ROWS ?=

.PHONY: help install lock test lint synth demo preprocess inspect verify train evaluate calibrate submit score predict finetune bench bench-cpu bench-gpu quality campaign-bench learning-curves framing real fullsize finetune-bench finetune-rates intervals-bench pretrain results clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo "  variables: DATA=$(DATA) CACHE=$(CACHE) RUN=$(RUN) JOBS=$(JOBS) VALID=$(VALID)"

install: $(VENV)/.installed ## create .venv and install the pinned versions of requirements.lock, then the project

$(VENV)/.installed: setup.cfg pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

lock: ## renew requirements.lock: the newest versions within setup.cfg's ranges (uv pip compile)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile setup.cfg --extra dev --extra cluster --extra parquet --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu -o requirements.lock

test: install ## run the test suite (on TEST_WORKERS processes)
	$(PY) -m pytest -q -n $(TEST_WORKERS)

lint: install ## ruff format --check and ruff check
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

ifeq ($(COUNTS),)
LABELS_FILE := $(DATA)/training_solutions_rev1.csv
PREPROCESS_DATA := --data $(DATA)
else
LABELS_FILE := $(VOLUNTEERS_CATALOG)
PREPROCESS_DATA := --campaign $(CAMPAIGN) --data $(VOLUNTEERS_CATALOG)
endif

synth: $(LABELS_FILE) ## write a synthetic data set to DATA: Kaggle's layout, or with CAMPAIGN=decals a campaign with vote counts

$(DATA)/training_solutions_rev1.csv: | install
	$(PY) -m synth --out $(DATA) --train $(SYNTH_TRAIN) --test $(SYNTH_TEST) --seed $(SEED) --jobs $(JOBS) \
		--sheet $(DATA)/contact_sheet.png

$(DATA)/gz_decals_volunteers.csv: | install
	$(PY) -m synth --campaign $(CAMPAIGN) --out $(DATA) --train $(SYNTH_TRAIN) --test $(SYNTH_TEST) --seed $(SEED) \
		--jobs $(JOBS)

preprocess: install ## decode DATA's JPEGs (or a CAMPAIGN's catalog's images) once into HDF5 shards in CACHE (resumable)
	$(PY) -m preprocess run $(PREPROCESS_DATA) --cache $(CACHE) --jobs $(JOBS) --valid $(VALID) --calibrate $(CALIBRATE) $(PREPROCESS_FLAGS)

inspect: install ## summarise CACHE and draw CACHE/contact_sheet.png
	$(PY) -m preprocess inspect $(CACHE) --png $(CACHE)/contact_sheet.png

verify: install ## re-hash and check every shard of CACHE
	$(PY) -m preprocess verify $(CACHE)

train: install ## train on CACHE into RUN (rerun to resume an interrupted run)
	$(PY) -m train fit --cache $(CACHE) --run $(RUN) $(TRAIN_FLAGS)

evaluate: install ## RMSE per question on the valid split, against the baselines
	$(PY) -m train evaluate --cache $(CACHE) --run $(RUN)

calibrate: install ## calibrate RUN's intervals on CACHE's calibration split (then `predict` and `submit --intervals` give them)
	$(PY) -m train calibrate --cache $(CACHE) --run $(RUN)

submit: install ## write SUBMISSION (default RUN/submission.csv) for the test split
	$(PY) -m train submit --cache $(CACHE) --run $(RUN) --out $(SUBMISSION) $(SUBMIT_FLAGS)

score: install ## score SUBMISSION against DATA/test_solutions.csv, with the floor (synthetic data only)
	$(PY) -m train score $(SUBMISSION) $(DATA)/test_solutions.csv

predict: install ## catalog (CATALOG, with GALLERY) of any IMAGES: files, folders or lists of paths
	$(PY) -m train predict --run $(RUN) --out $(CATALOG) --gallery $(GALLERY) $(PREDICT_FLAGS) $(IMAGES)

finetune: install ## a run of your own question (NEW) from RUN and LABELS: a new head on its trunk, with a report
	$(PY) -m train finetune --from $(RUN) --labels $(LABELS) --images $(DATA) --run $(NEW) $(FINETUNE_FLAGS)

# The demo: each step is a file, so a rerun redoes only what is missing or out of date.
$(CACHE)/manifest.json: $(LABELS_FILE)
	$(PY) -m preprocess run $(PREPROCESS_DATA) --cache $(CACHE) --jobs $(JOBS) --valid $(VALID) --calibrate $(CALIBRATE) $(PREPROCESS_FLAGS)

$(RUN)/.fitted: $(CACHE)/manifest.json
	$(PY) -m train fit --cache $(CACHE) --run $(RUN) --minutes $(DEMO_MINUTES) $(TRAIN_FLAGS)
	touch $@

$(RUN)/report.json: $(RUN)/.fitted
	$(PY) -m train evaluate --cache $(CACHE) --run $(RUN)

$(RUN)/calibration.json: $(RUN)/.fitted
	$(PY) -m train calibrate --cache $(CACHE) --run $(RUN)

$(RUN)/intervals.csv: $(RUN)/calibration.json
	$(PY) -m train submit --cache $(CACHE) --run $(RUN) --out $(RUN)/submission_intervals.csv --intervals $@

$(RUN)/submission_tta%.csv: $(RUN)/.fitted
	$(PY) -m train submit --cache $(CACHE) --run $(RUN) --out $@ --tta $*

$(RUN)/baseline_%.csv: $(CACHE)/manifest.json
	$(PY) -m train submit --cache $(CACHE) --baseline $* --out $@

DEMO_SUBMISSIONS = $(RUN)/submission_tta16.csv $(RUN)/submission_tta1.csv \
	$(RUN)/baseline_means.csv $(RUN)/baseline_central-pixel.csv $(RUN)/baseline_zeros.csv

# a campaign's run: the intervals of the votes checked on the calibration split, and catalogs of the test galaxies
$(RUN)/votes_coverage.json: $(RUN)/.fitted
	$(PY) -m train calibrate --cache $(CACHE) --run $(RUN)

$(RUN)/catalog_tta%.csv: $(RUN)/.fitted
	$(PY) -m train predict --run $(RUN) --out $@ --tta $* --volunteers 40 $(DATA)/test_images.txt

DEMO_CATALOGS = $(RUN)/catalog_tta16.csv $(RUN)/catalog_tta1.csv

ifeq ($(COUNTS),)
demo: $(RUN)/report.json $(DEMO_SUBMISSIONS) $(RUN)/intervals.csv ## the whole pipeline on a small synthetic set, in minutes on a CPU (CAMPAIGN=decals: with vote counts)
	@echo "== test-set scores (RMSE; lower is better), and how well the 16-view submission's intervals cover =="
	$(PY) -m train score $(DEMO_SUBMISSIONS) $(DATA)/test_solutions.csv
	$(PY) -m train score $(RUN)/submission_intervals.csv $(DATA)/test_solutions.csv --intervals $(RUN)/intervals.csv
else
demo: $(RUN)/report.json $(RUN)/votes_coverage.json $(DEMO_CATALOGS)
	@echo "== test-set scores of the catalogs' fractions down the tree against the volunteers' (RMSE; lower is better) =="
	$(PY) -m train score $(DEMO_CATALOGS) $(TEST_VOLUNTEERS) --train $(VOLUNTEERS_CATALOG)
endif

bench: install ## speed and memory benchmarks (bench/)
	$(PY) -m bench

bench-cpu: install ## training and 16-view prediction under each of TensorFlow's CPU settings; FLOP/s against peak
	$(PY) -m bench.cpu --rounds $(CPU_ROUNDS) --rows "$(CPU_ROWS)"

bench-gpu: install ## training img/s of each model fed by ShardDataset vs batches already in GPU memory
	$(PY) -m bench.gpu

learning-curves: install ## the default recipe's gap closed against minutes (2.5-40) and training galaxies (1,500-24,000)
	$(PY) -m bench.curves

pretrain: install ## the default trained an hour on 61,578 distinct synthetic galaxies: the trunk finetuning starts from (resumes)
	$(PY) -m bench.pretrain

finetune-bench: install ## labels saved by finetuning make pretrain's trunk (100-3000 labels, labelling rounds, their ceiling; resumes)
	$(PY) -m bench.finetune --part labels
	$(PY) -m bench.finetune --part rounds
	$(PY) -m bench.finetune --part ceiling
	$(PY) -m bench.finetune.report

finetune-rates: install ## settings chosen on the choosing survey (seed 73): the unfrozen trunk's rate, the head's start
	$(PY) -m bench.finetune --part rates --seed 73 --train 8000
	$(PY) -m bench.finetune --part "head starts" --seed 73

framing: install ## how real cutouts (Kaggle/GZ2 from PyPI, ../shared/real) and synthetic ones are framed and look, and each kind's morphology
	$(PY) -m bench.framing
	$(PY) -m bench.kinds

real: install ## real DECaLS galaxies (../shared/real) seen by a trunk trained on synthetic ones: zero-shot, finetuned (5 folds), 3 Kaggle images (resumes)
	$(PY) -m bench.real

fullsize: install ## rehearse at Kaggle's size (61,578 + 79,975 galaxies) under ulimit -n 1024: time and memory per step
	$(PY) -m bench.fullsize

intervals-bench: install ## calibrated intervals on the quality set by each difficulty estimate: coverage, width, confidence
	$(PY) -m bench.intervals

quality: install ## candidate recipes trained QUALITY_MINUTES each on the quality set (6,000 synthetic galaxies), scored against the floor
	$(PY) -m bench.quality --minutes $(QUALITY_MINUTES)

campaign-bench: install ## vote counts (a synthetic GZ DECaLS-like campaign): the Dirichlet-multinomial against the vote-weighted cross-entropy, and its intervals
	$(PY) -m bench.campaign --minutes $(QUALITY_MINUTES) --seeds $(CAMPAIGN_SEEDS)

results: install ## docs/results.md: every benchmark's table, from the results files the benchmarks wrote
	$(PY) -m bench.results

clean: ## remove the caches, runs and synthetic data (keeps .venv)
	rm -rf $(CACHE) runs data/synthetic*
