# The commands people type. `make run` and `make test` each set up everything they need first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned first so pip takes the CPU wheel, never a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# The ONNX backend (the default) runs a graph exported once from the packaged weights.
	$(BIN)/python -m kb_service.embedding.onnx_backend
	touch $(STAMP)

setup: $(STAMP)

## Set up, then start the service with the demo knowledge base on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/frontdesk serve $(ARGS)

## Set up (venv, packages; Debian chromium, PostgreSQL, espeak-ng and sox for the tests), then run every test
test: $(STAMP)
	scripts/install-browser
	scripts/install-audio
	scripts/install-postgresql
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Lint: ruff's checks and its formatter (check only), the import layers (pyproject.toml) and the type check
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data

## Benchmarks (not tests): each prints the service figure, its raw floor and the ratio; results in bench/results/
.PHONY: bench-ask bench-throughput bench-learn bench-rebuild bench-scale bench-voice bench-replicas bench-storage-layer bench-versus
bench-ask: $(STAMP)
	$(BIN)/python -m bench.ask_latency $(ARGS)
bench-throughput: $(STAMP)
	scripts/install-wrk
	$(BIN)/python -m bench.throughput $(ARGS)
bench-learn: $(STAMP)
	$(BIN)/python -m bench.learn_to_answer $(ARGS)
bench-rebuild: $(STAMP)
	$(BIN)/python -m bench.rebuild $(ARGS)
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(ARGS)
bench-voice: $(STAMP)
	scripts/install-wrk
	scripts/install-audio
	$(BIN)/python -m bench.voice $(ARGS)
bench-replicas: $(STAMP)
	scripts/install-wrk
	scripts/install-postgresql
	$(BIN)/python -m bench.replicas $(ARGS)
bench-storage-layer: $(STAMP)
	$(BIN)/python -m bench.storage_layer $(ARGS)
bench-versus: $(STAMP)
	scripts/install-wrk
	$(BIN)/python -m bench.versus $(ARGS)
