"""scripts/install-test-deps.sh leaves no SSH service behind (issue 13, item 21).

Installing a package for real is not a test's business, so apt-get, systemctl and update-rc.d
are small recording stand-ins on PATH here; the script itself runs as written, with its paths
(sshd, policy-rc.d, /run/sshd) pointed into a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "install-test-deps.sh"

APT_GET = """#!/bin/sh
echo "apt-get $*" >> "$LOG"
case "$*" in *install*)
    # what dpkg's maintainer scripts do: ask policy-rc.d whether the service may start
    code=0
    if [ -x "$POLICY_RC_D" ]; then "$POLICY_RC_D" ssh start || code=$?; fi
    if [ "$code" = 101 ]; then echo "service start denied (101)" >> "$LOG"
    else echo "service started" >> "$LOG"; fi
    printf '#!/bin/sh\\necho OpenSSH_9.9p1 >&2\\n' > "$SSHD"; chmod +x "$SSHD"
    echo "enabled" > "$STATE/ssh.service";;
esac
"""
SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "$LOG"
case "$*" in *disable*) rm -f "$STATE/ssh.service";; esac
"""
UPDATE_RC_D = """#!/bin/sh
echo "update-rc.d $*" >> "$LOG"
"""


@pytest.fixture
def host(tmp_path: Path) -> dict[str, str]:
    """Stand-ins on PATH and the script's paths in tmp_path; returns the environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (
        ("apt-get", APT_GET),
        ("systemctl", SYSTEMCTL),
        ("update-rc.d", UPDATE_RC_D),
    ):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "state").mkdir()
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LOG": str(tmp_path / "log"),
        "STATE": str(tmp_path / "state"),
        "SSHD": str(tmp_path / "sbin" / "sshd"),
        "POLICY_RC_D": str(tmp_path / "policy-rc.d"),
        "SSHD_RUN_DIR": str(tmp_path / "run" / "sshd"),
    }


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess:
    Path(env["SSHD"]).parent.mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", str(SCRIPT)], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs as root (or through sudo)")
def test_installing_sshd_neither_starts_nor_enables_the_ssh_service(host):
    result = run_script(host)
    assert result.returncode == 0, result.stderr
    log = Path(host["LOG"]).read_text().splitlines()
    assert "service start denied (101)" in log and "service started" not in log
    assert any(line.startswith("systemctl disable") and "ssh.service" in line for line in log)
    assert not Path(host["STATE"], "ssh.service").exists()  # not enabled for the next boot
    assert not Path(host["POLICY_RC_D"]).exists()  # the host had none: none is left
    assert Path(host["SSHD_RUN_DIR"]).is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="the script installs as root (or through sudo)")
def test_a_policy_rc_d_the_host_had_is_put_back(host):
    policy = Path(host["POLICY_RC_D"])
    policy.write_text("#!/bin/sh\n# the host's own policy\nexit 0\n")
    policy.chmod(0o750)
    run_script(host)
    assert policy.read_text() == "#!/bin/sh\n# the host's own policy\nexit 0\n"
    assert policy.stat().st_mode & 0o777 == 0o750


def test_nothing_is_installed_when_sshd_is_there(host):
    sshd = Path(host["SSHD"])
    sshd.parent.mkdir()
    sshd.write_text("#!/bin/sh\necho OpenSSH_9.9p1 >&2\n")
    sshd.chmod(0o755)
    Path(host["SSHD_RUN_DIR"]).mkdir(parents=True)
    result = run_script(host)
    assert result.returncode == 0, result.stderr
    assert "nothing to install" in result.stdout
    assert not Path(host["LOG"]).exists()


def test_the_readme_says_what_the_test_script_installs():
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "openssh-server" in readme
    assert "neither started nor left enabled" in readme
