#!/usr/bin/env bash
# scripts/install-deps.sh: install what gridlora's build and tests need on Debian 12.
# Does nothing when every package is already there, so `make` may call it each time.
# Usage: scripts/install-deps.sh [--check]   (--check: list what is missing, exit 1 if any)
set -euo pipefail

# ffmpeg (the program) only makes test fixtures in many containers and codecs, and
# python3-torch runs tools/reference_dit.py, the model's reference in the tests; the
# library never runs either; gnuplot-nox draws loss curves for `train --plot`; libdnnl-dev
# (oneDNN) runs the bf16 matrix products.
# libopenmpi-dev and openmpi-bin: data-parallel training (`mpirun -np K gridlora train`)
# and its test; the build works without them.
# Why the OpenMP flavour of OpenBLAS: our attention kernels call sgemm from inside
# OpenMP parallel loops; the openmp build then runs those calls single-threaded instead
# of oversubscribing the cores with its own pthreads pool.
packages=(
  build-essential cmake pkg-config
  libopenblas-openmp-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libcjson-dev libcmocka-dev
  ffmpeg
  python3 python3-torch
  gnuplot-nox libdnnl-dev
  libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "gridlora: missing packages: ${missing[*]}" >&2
  exit 1
fi

echo "gridlora: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "gridlora: need root to install: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "gridlora: dependencies installed" >&2
