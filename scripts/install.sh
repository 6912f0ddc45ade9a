#!/usr/bin/env bash
# Install faqbot into a virtual environment. The one install path: `make setup` (and so CI's
# .ci/run, through `make test`) and the container image (Dockerfile) both run this script.
#
#   scripts/install.sh VENV dev     editable, with the test tools         (make setup)
#   scripts/install.sh VENV image   the app and the Postgres driver only  (Dockerfile)
#
# PYTHON: the interpreter that makes the venv (default python3). TORCH_INDEX_URL: a package
# index holding torch's CPU build, where the default index has none (the Dockerfile passes
# PyTorch's CPU index; this machine's default index serves the CPU build).
set -euo pipefail

VENV=${1:?usage: scripts/install.sh VENV dev|image}
MODE=${2:?usage: scripts/install.sh VENV dev|image}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0

cd "$(dirname "$0")/.."
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
# CPU build of torch first: a plain "torch" requirement would pull a multi-GB CUDA build.
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$VENV/bin/pip" install --quiet --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION"
else
    "$VENV/bin/pip" install --quiet "torch==$TORCH_VERSION"
fi
case "$MODE" in
    dev) "$VENV/bin/pip" install --quiet -e '.[test]' ;;
    image) "$VENV/bin/pip" install --quiet '.[postgres]' ;;
    *) echo "scripts/install.sh: unknown mode '$MODE' (dev or image)" >&2; exit 2 ;;
esac
