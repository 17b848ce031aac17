#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: virtualenv, dependencies, the OpenSSH server binary
# for the SFTP tests (installed when missing, its system service neither started nor enabled: see
# install-test-deps.sh; the tests start their own sshd on loopback), lint, types (mypy), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh "[dev]"

scripts/install-test-deps.sh

.venv/bin/ruff check daemon roster_tui tests benchmarks sample_data
.venv/bin/ruff format --check daemon roster_tui tests benchmarks sample_data
.venv/bin/mypy  # [tool.mypy] in pyproject.toml: daemon and roster_tui
# Two workers (ROSTER_SYNC_TEST_WORKERS), a file each at a time: a file's fixtures stay together.
exec .venv/bin/python -m pytest -q -n "${ROSTER_SYNC_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
