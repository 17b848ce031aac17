#!/usr/bin/env bash
# Installs what the SFTP tests need: a real OpenSSH sshd (tests/sftp start it on loopback).
# Idempotent and non-interactive, so CI (Debian, root, no stdin) can run it on every job.
set -euo pipefail

SSHD=/usr/sbin/sshd

if [[ -x "$SSHD" ]]; then
    echo "install-test-deps: $SSHD already present ($("$SSHD" -V 2>&1 | head -n1)); nothing to install"
else
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "install-test-deps: $SSHD is missing and installing openssh-server needs root;" >&2
        echo "  run this script as root (or: sudo apt-get install -y openssh-server)" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: $SSHD is missing and apt-get is not available;" >&2
        echo "  install the OpenSSH server with this system's package manager" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "install-test-deps: $SSHD missing; running apt-get update"
    apt-get update -q
    echo "install-test-deps: installing openssh-server"
    # --reinstall also repairs a registered package whose binary was removed
    apt-get install -y -q --reinstall --no-install-recommends openssh-server </dev/null
    echo "install-test-deps: installed $("$SSHD" -V 2>&1 | head -n1)"
fi

# sshd refuses to start without its privilege-separation directory (no systemd creates it here).
if [[ -d /run/sshd ]]; then
    echo "install-test-deps: /run/sshd already exists"
elif [[ "$(id -u)" -eq 0 ]]; then
    mkdir -p /run/sshd
    chmod 0755 /run/sshd
    echo "install-test-deps: created /run/sshd"
else
    echo "install-test-deps: /run/sshd is missing and creating it needs root" >&2
    exit 1
fi
