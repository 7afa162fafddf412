# labkit: `make lab` opens the lab, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test install lint typecheck layers pytest live workshop-live bench bench-live clean

# Everything: labkit with the lab extra, and the linters and test tools at the exact versions
# of constraints.txt (a new release of a tool cannot break `make test` by itself).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[lab,test,browser]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/labkit up
	$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/00-start-here.ipynb

lint: $(STAMP)
	$(BIN)/ruff check labkit tests benchmarks
	$(BIN)/ruff format --check labkit tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

test: $(STAMP) lint typecheck layers pytest

# The live suite: `labkit up` first, outside pytest (a cold start takes minutes, more than
# pytest-timeout's 300 s, which counts fixture setup); the tests only attach to the cluster.
# LIVE_NODES=1 and LIVE_CALICO=manifest choose the other shapes.
LIVE_NODES  ?= 3
LIVE_CALICO ?= operator

live: $(STAMP)
	$(BIN)/labkit up --backend kind --nodes $(LIVE_NODES) --calico $(LIVE_CALICO)
	LABKIT_LIVE=1 LABKIT_LIVE_NODES=$(LIVE_NODES) LABKIT_LIVE_CALICO=$(LIVE_CALICO) \
		$(BIN)/pytest -q -m live

# Workshop mode on kind (3 nodes, 5 learners; tests/live/test_workshop_live.py), then the load
# script for WORKSHOP_LEARNERS learners (more than ~30 need the kubelet's maxPods raised: see
# the `workshop` job of .github/workflows/live.yml).
WORKSHOP_LEARNERS ?= 20

workshop-live: $(STAMP)
	$(BIN)/labkit up --backend kind --nodes 3 --calico $(LIVE_CALICO)
	LABKIT_LIVE=1 LABKIT_LIVE_NODES=3 LABKIT_LIVE_CALICO=$(LIVE_CALICO) \
		$(BIN)/pytest -q -m live tests/live/test_workshop_live.py
	KUBECONFIG=.labkit/kubeconfig $(BIN)/python benchmarks/workshop_load.py \
		--learners $(WORKSHOP_LEARNERS) --context kind-labkit --duration 300

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py

bench-live: $(STAMP)
	$(BIN)/labkit up --backend kind --nodes $(LIVE_NODES) --calico $(LIVE_CALICO)
	$(BIN)/python benchmarks/live_probe.py --require-cluster --nodes $(LIVE_NODES) \
		--calico $(LIVE_CALICO)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
