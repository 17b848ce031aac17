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
# The tests' own directories (their DuckDB files) in memory when /dev/shm has room: a test runs
# thousands of small statements, and on a disk each commit's fsync is much of its wait (the
# engine tests took 15% less time, measured). Removed when the run ends, whatever its outcome.
basetemp=()
if shm=$(mktemp -d /dev/shm/rs-XXXXXX 2>/dev/null); then
    if [ "$(df --output=avail -k "$shm" | tail -n 1)" -gt 2000000 ]; then
        trap 'rm -rf "$shm"' EXIT
        basetemp=(--basetemp "$shm/t")
    else
        rmdir "$shm"
    fi
fi
# One worker more than the machine has cores (ROSTER_SYNC_TEST_WORKERS says otherwise), a file
# each at a time so that a file's fixtures stay together: the daemon, SFTP and CLI tests spend
# much of their time waiting on another process, and the extra worker runs a test meanwhile.
workers=${ROSTER_SYNC_TEST_WORKERS:-$(( $(nproc 2>/dev/null || echo 2) + 1 ))}
.venv/bin/python -m pytest -q -n "$workers" --dist loadfile --no-loadscope-reorder \
    ${basetemp[@]+"${basetemp[@]}"} "$@"
