# tinyaudio: `make demo` trains the FSDD keyword model; `make test` runs the test suite.
# Both create .venv on first use. TINYAUDIO_DATA points the loaders at a local dataset root
# (default ../shared/datasets when it exists); without it datasets are downloaded.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED := $(abspath ../shared/datasets)
export TINYAUDIO_DATA ?= $(if $(wildcard $(SHARED)),$(SHARED),)
export TF_CPP_MIN_LOG_LEVEL ?= 2
DEMO_OUT ?= runs/demo

.PHONY: demo test test-all benchmarks clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel >/dev/null
	$(BIN)/pip install -e ".[train,runtime,dev,mcu]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tinyaudio train --dataset fsdd --model ds_cnn --features fsdd_mfcc --out $(DEMO_OUT) --overwrite
	$(BIN)/tinyaudio predict $(DEMO_OUT) $$($(BIN)/python -c "from tinyaudio.data import fsdd; print(' '.join(str(c.path) for c in fsdd().split('test')[::60]))")
	@echo "artifacts in $(DEMO_OUT): model_int8.tflite, model_int8.h, metrics.json, *.png"

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

benchmarks: $(STAMP)
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
