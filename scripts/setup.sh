#!/usr/bin/env bash
# Installs what kiln needs to build and test, idempotently: Debian packages via
# apt and Python test packages via pip. Only package registries are used.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  libboost1.81-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-pip
)
PIP_PACKAGES=(gguf numpy pytest jinja2 tokenizers)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
pip_missing=()
for p in "${PIP_PACKAGES[@]}"; do
  "$PY" -m pip show -q "$p" >/dev/null 2>&1 || pip_missing+=("$p")
done
if ((${#pip_missing[@]})); then
  echo "setup: installing Python packages: ${pip_missing[*]}"
  "$PY" -m pip install -q "${pip_missing[@]}" || \
    "$PY" -m pip install -q --break-system-packages "${pip_missing[@]}"
fi
