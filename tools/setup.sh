#!/usr/bin/env bash
# Install what cinecut needs: system packages (ffmpeg, fonts, Tesseract OCR) and a Python venv in .venv.
#
#   tools/setup.sh               the workflow on its embedded backends (what `make demo` needs)
#   tools/setup.sh --models      + llama-cpp-python and its server (llama_cpp backends)
#   tools/setup.sh --embeddings  + sentence embeddings for zones (torch, all-MiniLM-L6-v2)
#   tools/setup.sh --dev         all of it, and the tools the tests use (`make test`)
#
# llama-cpp-python is built from source with -DGGML_NATIVE=OFF: a native build made by
# GCC 12 crashes on CPUs with Intel AMX. Building takes ~4-9 minutes on 2 cores, so the
# wheel is kept in $CINECUT_WHEELS (default ~/.cache/cinecut/wheels), one folder per
# CMAKE_ARGS; add your own flags (e.g. CMAKE_ARGS="-DGGML_CUDA=on") and they are kept.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
with_llama=false
case "${1:-}" in
  "") ;;
  --models) extras="[models]"; with_llama=true ;;
  --embeddings) extras="[embeddings]" ;;
  --dev) extras="[dev]"; with_llama=true ;;
  *) echo "usage: tools/setup.sh [--models|--embeddings|--dev]" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-python3}
missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
# Debian's python3 makes no venv until python3-venv brings ensurepip.
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing+=(fonts-dejavu-core)
# OCR of bitmap subtitle streams (PGS, DVD, DVB) in the dialogue rule, which every run has.
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || missing+=(tesseract-ocr-eng)
# The voice activity tests and benchmark speak with espeak-ng.
if [ "$extras" = "[dev]" ] && ! command -v espeak-ng >/dev/null; then
  missing+=(espeak-ng)
fi
# The tests make DVD subtitles (VobSub) with spumux, and open the report in Chromium.
if [ "$extras" = "[dev]" ]; then
  command -v spumux >/dev/null || missing+=(dvdauthor)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
fi
if $with_llama && ! { command -v cmake >/dev/null && command -v g++ >/dev/null; }; then
  missing+=(cmake g++)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "cinecut setup: please install ${missing[*]} with your package manager" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "cinecut setup: installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "cinecut setup: Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip

if $with_llama; then
  LLAMA_VERSION=0.3.36
  flags="-DGGML_NATIVE=OFF${CMAKE_ARGS:+ $CMAKE_ARGS}"
  wheels="${CINECUT_WHEELS:-$HOME/.cache/cinecut/wheels}/llama-cpp-python-$LLAMA_VERSION-$(printf %s "$flags" | sha256sum | cut -c1-12)"
  installed=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || true)
  if [ "$installed" != "$LLAMA_VERSION" ]; then
    if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
      echo "cinecut setup: building llama-cpp-python $LLAMA_VERSION ($flags), a few minutes once; cached in $wheels"
      mkdir -p "$wheels"
      CMAKE_ARGS="$flags" .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir \
        -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
    fi
    .venv/bin/python -m pip install -q "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
  fi
fi
.venv/bin/python -m pip install -q -e ".$extras"
echo "cinecut setup: ready (.venv${extras:+, $extras})"
