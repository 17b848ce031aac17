#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: virtualenv, dependencies, a real OpenSSH server
# for the SFTP tests (installed when missing), lint, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh "[dev]"

scripts/install-test-deps.sh

.venv/bin/ruff check daemon roster_tui tests benchmarks sample_data
.venv/bin/ruff format --check daemon roster_tui tests benchmarks sample_data
exec .venv/bin/python -m pytest -q "$@"
