#!/usr/bin/env bash
# Installs what the SFTP tests need: a real OpenSSH sshd (tests/sftp start it on loopback).
# Idempotent and non-interactive, so CI (Debian, root, no stdin) can run it on every job.
set -euo pipefail

SSHD=/usr/sbin/sshd

# Root runs commands directly; anyone else goes through passwordless sudo when it is available.
AS_ROOT=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        AS_ROOT=(sudo -n)
    else
        AS_ROOT=(not-root)
    fi
fi

if [[ -x "$SSHD" ]]; then
    echo "install-test-deps: $SSHD already present ($("$SSHD" -V 2>&1 | head -n1)); nothing to install"
else
    if [[ "${AS_ROOT[*]-}" == not-root ]]; then
        echo "install-test-deps: $SSHD is missing and installing openssh-server needs root;" >&2
        echo "  run this script as root or with passwordless sudo (or: sudo apt-get install -y openssh-server)" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: $SSHD is missing and apt-get is not available;" >&2
        echo "  install the OpenSSH server with this system's package manager" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "install-test-deps: $SSHD missing; running apt-get update"
    "${AS_ROOT[@]}" apt-get update -q
    echo "install-test-deps: installing openssh-server"
    # --reinstall also repairs a registered package whose binary was removed
    "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --no-install-recommends openssh-server </dev/null
    echo "install-test-deps: installed $("$SSHD" -V 2>&1 | head -n1)"
fi

# sshd refuses to start without its privilege-separation directory (no systemd creates it here).
if [[ -d /run/sshd ]]; then
    echo "install-test-deps: /run/sshd already exists"
elif [[ "${AS_ROOT[*]-}" != not-root ]]; then
    "${AS_ROOT[@]}" mkdir -p /run/sshd
    "${AS_ROOT[@]}" chmod 0755 /run/sshd
    echo "install-test-deps: created /run/sshd"
else
    echo "install-test-deps: /run/sshd is missing and creating it needs root" >&2
    exit 1
fi
