# ftexp: `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0   # CPU wheel; for CUDA pass e.g. TORCH="torch==2.13.0 --index-url <cuda index>"
export FTEXP_CACHE ?= $(HOME)/.cache/ftexp

.PHONY: help install run smoke test test-all lint type fmt docs compare compare-table compare-sweep bench bench-gpu bench-sft bench-refusals slurm-up slurm-down clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "%-10s %s\n",$$1,$$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed  ## create .venv with ftexp (editable) + dev tools

run: install  ## the default run: MiniLM + LoRA on Rotten Tomatoes (CPU, ~9 min)
	$(PY) -m ftexp $(ARGS)

smoke: install  ## tiny random model end to end in seconds
	$(PY) -m ftexp debug=smoke $(ARGS)

test: install  ## fast test suite (tiny models + one real MiniLM run), ~10 min on 2 cores
	$(PY) -m pytest $(ARGS)

test-all: install  ## also the slow tests (full default run, accuracy bar)
	$(PY) -m pytest -m "not gpu" $(ARGS)

slurm-up:  ## start a single-node SLURM here (root; installs slurm-wlm, munge, MariaDB if missing)
	bash tests/cluster/slurm_up.sh

slurm-down:  ## stop the daemons slurm-up started
	bash tests/cluster/slurm_down.sh

lint: install  ## ruff check + format check, and no import cycles in src
	$(VENV)/bin/ruff check src tests bench tools && $(VENV)/bin/ruff format --check src tests bench tools
	$(PY) tools/import_cycles.py

type: install  ## mypy --strict on src
	$(VENV)/bin/mypy

fmt: install  ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix src tests bench tools && $(VENV)/bin/ruff format src tests bench tools

docs: install  ## the documentation site: config reference pages from conf/, the layout page from src/, then mkdocs build --strict -> site/
	$(PY) tools/config_pages.py
	$(PY) tools/layout_page.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

METHODS ?= linear_probe,full,freeze,bitfit,gradual_unfreeze,lora,dora,adapter,adapter_pfeiffer,ia3,prompt,ptuning,prefix,ptuning_v2,qlora,qlora8,qat
SEEDS ?= 42,43,44
LR_FACTORS ?= 0.3,1,3
WIDEN ?= 0
TRAIN_SAMPLES ?=   # a data-size axis, e.g. 100,1000,all: the study at each size + a learning curve
STEPS ?= 0   # N: every job trains N optimiser steps (the same budget at every size); 0: the configured epochs
BASELINES ?= zero_shot,few_shot
# the task compared: compare (sentiment), compare_sentiment_zh (m3e_zh), compare_sentiment_zh_vocab,
# compare_ner_en (with BASELINES=), compare_fashion_cnn and compare_fashion_vit (with BASELINES= and
# METHODS of a CNN / a ViT)
COMPARE ?= compare
COMPARE_DIR ?= outputs/$(COMPARE)

compare: install  ## every method: lr searched on val, then SEEDS at the best (+ prompting baselines) -> mean +- std table + charts; resumable
	$(PY) -m ftexp.study $(COMPARE_DIR) --methods=$(METHODS) --baselines=$(BASELINES) --seeds=$(SEEDS) --lr-factors=$(LR_FACTORS) --widen=$(WIDEN) --train-samples=$(TRAIN_SAMPLES) --steps=$(STEPS) experiment=$(COMPARE) $(ARGS)

compare-table: install  ## the comparison table of the results kept so far (a running `make compare` too); runs nothing
	$(PY) -m ftexp.study $(COMPARE_DIR) --kept-only --methods=$(METHODS) --baselines=$(BASELINES) --seeds=$(SEEDS) --lr-factors=$(LR_FACTORS) --widen=$(WIDEN) --train-samples=$(TRAIN_SAMPLES) --steps=$(STEPS) experiment=$(COMPARE) $(ARGS)

compare-sweep: install  ## one run per method at its own rate (Hydra multirun) -> table + PNG
	$(PY) -m ftexp -m experiment=$(COMPARE) method=$(METHODS) hydra.sweep.dir=$(COMPARE_DIR)/sweep $(ARGS)
	$(PY) -m ftexp.cli.compare $(COMPARE_DIR)/sweep

bench: install  ## ftexp vs HF Trainer + PEFT vs bare loop, CPU case (~20 min) -> bench/results/cpu.json
	$(PY) bench/run.py cpu $(ARGS)

bench-gpu: install  ## the GPU case (1.1B Llama; CUDA + pip install liger-kernel) -> bench/results/gpu.json
	$(PY) bench/run.py gpu $(ARGS)

bench-sft: install  ## SmolLM2 LoRA SFT: ftexp vs TRL's SFTTrainer (pip install trl) -> bench/results/sft.json
	$(PY) bench/run.py sft $(ARGS)

bench-refusals: install  ## seconds from bad input to its exit-2 refusal -> bench/results/refusals.json
	$(PY) bench/refusals.py

clean:  ## remove run outputs and caches (not the venv or the artifact cache)
	rm -rf outputs multirun .pytest_cache .mypy_cache .ruff_cache
