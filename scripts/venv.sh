#!/usr/bin/env bash
# Source me: makes .venv if missing and installs Roster Sync into it (editable).
# $1: the extras to install, e.g. "[dev]" (default: none).
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${1:-}"
