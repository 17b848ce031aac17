#!/usr/bin/env bash
# Installs what the SFTP tests need: the OpenSSH server binary (tests/sftp start their own sshd on
# 127.0.0.1, as the test user, with throwaway keys). Idempotent and non-interactive, so CI
# (Debian, root, no stdin) can run it on every job.
#
# What it changes on the host, only when /usr/sbin/sshd is missing: the openssh-server package
# is installed with apt-get, but its system service is neither started (a policy-rc.d denies it
# during the install, and any earlier policy-rc.d is put back) nor left enabled (ssh.service and
# ssh.socket are disabled again), so no SSH server listens because of the tests. It also makes
# /run/sshd, which sshd needs to start.
set -euo pipefail

SSHD="${SSHD:-/usr/sbin/sshd}"
POLICY_RC_D="${POLICY_RC_D:-/usr/sbin/policy-rc.d}"
SSHD_RUN_DIR="${SSHD_RUN_DIR:-/run/sshd}"

# Root runs commands directly; anyone else goes through passwordless sudo when it is available.
AS_ROOT=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        AS_ROOT=(sudo -n)
    else
        AS_ROOT=(not-root)
    fi
fi

# While the package installs, services may not start (Debian's policy-rc.d: exit 101 = denied).
POLICY_BACKUP=""
deny_service_starts() {
    if [[ -e "$POLICY_RC_D" ]]; then
        POLICY_BACKUP="$(mktemp)"
        "${AS_ROOT[@]}" cp -p "$POLICY_RC_D" "$POLICY_BACKUP"
    fi
    trap restore_policy EXIT
    printf '#!/bin/sh\n# install-test-deps.sh: no service starts while it installs\nexit 101\n' \
        | "${AS_ROOT[@]}" tee "$POLICY_RC_D" >/dev/null
    "${AS_ROOT[@]}" chmod 0755 "$POLICY_RC_D"
}
restore_policy() {
    if [[ -n "$POLICY_BACKUP" ]]; then
        "${AS_ROOT[@]}" cp -p "$POLICY_BACKUP" "$POLICY_RC_D"
        rm -f "$POLICY_BACKUP"
    else
        "${AS_ROOT[@]}" rm -f "$POLICY_RC_D"
    fi
}

# The package enables its service for the next boot; the tests never need it.
disable_ssh_service() {
    if command -v systemctl >/dev/null 2>&1; then
        "${AS_ROOT[@]}" systemctl disable --quiet ssh.service ssh.socket 2>/dev/null || true
        "${AS_ROOT[@]}" systemctl stop ssh.service ssh.socket 2>/dev/null || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
        "${AS_ROOT[@]}" update-rc.d -f ssh disable >/dev/null 2>&1 || true
    fi
    echo "install-test-deps: the ssh system service is disabled and not running (the tests start their own sshd)"
}

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
    echo "install-test-deps: installing openssh-server (its system service is not started)"
    deny_service_starts
    # --reinstall also repairs a registered package whose binary was removed
    "${AS_ROOT[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall --no-install-recommends openssh-server </dev/null
    restore_policy
    trap - EXIT
    disable_ssh_service
    echo "install-test-deps: installed $("$SSHD" -V 2>&1 | head -n1)"
fi

# sshd refuses to start without its privilege-separation directory (no systemd creates it here).
if [[ -d "$SSHD_RUN_DIR" ]]; then
    echo "install-test-deps: $SSHD_RUN_DIR already exists"
elif [[ "${AS_ROOT[*]-}" != not-root ]]; then
    "${AS_ROOT[@]}" mkdir -p "$SSHD_RUN_DIR"
    "${AS_ROOT[@]}" chmod 0755 "$SSHD_RUN_DIR"
    echo "install-test-deps: created $SSHD_RUN_DIR"
else
    echo "install-test-deps: $SSHD_RUN_DIR is missing and creating it needs root" >&2
    exit 1
fi
