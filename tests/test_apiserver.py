"""`infergate apiserver up|status|down` and the hermetic server's one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from infergate import cli
from infergate.apiserver import build, crds, process
from infergate.apiserver.testing import skip_reason
from tests.conftest import run_infergate

needs_server = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


def _listening_inodes() -> dict[str, str]:
    """socket inode -> local address of every listening TCP socket (IPv4 and IPv6)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                found[fields[9]] = fields[1]
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


@pytest.mark.slow
@needs_server
def test_up_status_down_on_loopback(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    up = run_infergate("apiserver", "up", "--crds", "none", "--state-dir", str(state_dir), timeout=1800)
    assert up.returncode == 0, up.stderr
    assert "ready at https://127.0.0.1:" in up.stdout
    state = process.read_state(state_dir)
    assert state is not None and process.is_running(state)
    try:
        status = run_infergate("apiserver", "status", "--state-dir", str(state_dir))
        assert status.returncode == 0 and "ready" in status.stdout, status.stdout + status.stderr
        listening = _listening_inodes()
        for pid in (state.etcd_pid, state.apiserver_pid):
            addresses = [listening[i] for i in _socket_inodes(pid) if i in listening]
            assert addresses, f"pid {pid} listens nowhere"
            # 0100007F is 127.0.0.1 in /proc's little-endian hex: nothing listens beyond loopback
            assert all(a.startswith("0100007F:") for a in addresses), addresses
        assert Path(state.kubeconfig).stat().st_mode & 0o077 == 0
    finally:
        down = run_infergate("apiserver", "down", "--state-dir", str(state_dir))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not state_dir.exists()
    assert not Path(f"/proc/{state.apiserver_pid}").exists() or not process.is_running(state)
    after = run_infergate("apiserver", "status", "--state-dir", str(state_dir))
    assert after.returncode == 1 and "not running" in after.stdout


@pytest.mark.slow
def test_every_pinned_crd_installs(hermetic_apiserver) -> None:  # type: ignore[no-untyped-def]
    report = hermetic_apiserver
    assert report.crds is not None
    assert report.crds.files == [e.name for e in crds.select("all")]
    with report.state.client() as client:
        served = client.request("GET", crds.CRD_PATH)["items"]
    assert len(served) == report.crds.crds
    assert all(any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"])
               for crd in served)


def test_without_go_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no binaries cached there
    monkeypatch.setenv("PATH", str(tmp_path))  # no go on PATH
    monkeypatch.setattr(build, "_GO_FALLBACK", tmp_path / "no-go")
    result = CliRunner().invoke(cli.main, ["apiserver", "up", "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Go is not installed"), result.output
    assert "--binaries DIR" in lines[0]


def test_bad_binaries_dir_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["apiserver", "up", "--binaries", str(tmp_path),
                                           "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "kube-apiserver and etcd" in result.output


def test_down_when_nothing_runs(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["apiserver", "down", "--state-dir", str(tmp_path / "none")])
    assert result.exit_code == 0 and "not running" in result.output
    status = CliRunner().invoke(cli.main, ["apiserver", "status", "--state-dir", str(tmp_path / "none")])
    assert status.exit_code == 1 and "not running" in status.output


def test_never_removes_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    commands = [["apiserver", "down", "--state-dir", str(precious)]]
    if build.built_binaries() is not None:  # up checks its binaries first, so give it real ones
        commands.append(["apiserver", "up", "--crds", "none", "--state-dir", str(precious),
                         "--binaries", str(build.tool_dir())])
    for args in commands:
        result = CliRunner().invoke(cli.main, args)
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and "not a hermetic server's state directory" in result.output
    assert (precious / "notes.txt").read_text() == "keep me"
