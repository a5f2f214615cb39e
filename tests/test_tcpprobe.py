"""infergate/netpol/tcpprobe.py against loopback listeners: a connect that succeeds, one refused, one that
times out (a listener whose accept queue is full drops the SYN), and expected vs actual reported right."""

from __future__ import annotations

import ast
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infergate.netpol import tcpprobe
from infergate.netpol.tcpprobe import Check, nameserver, run_check, run_checks


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once it is closed


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listener that never accepts, its queue filled: Linux drops further SYNs, so a connect times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        fillers.append(sock)
    try:
        if tcpprobe.connect_once("127.0.0.1", port, 0.3) != "timeout":
            pytest.skip("this kernel answers SYNs beyond a full accept queue")
        yield port
    finally:
        for sock in fillers:
            sock.close()
        server.close()


def test_outcomes(listening: int, closed_port: int, full_backlog: int) -> None:
    assert tcpprobe.connect_once("127.0.0.1", listening, 2) == "connected"
    assert tcpprobe.connect_once("127.0.0.1", closed_port, 2) == "refused"
    assert tcpprobe.connect_once("127.0.0.1", full_backlog, 0.3) == "timeout"
    assert tcpprobe.connect_once("no-such-host.invalid", 80, 2) == "no-dns"


@pytest.mark.parametrize(("expect", "where", "passed", "actual"), [
    ("connect", "listening", True, "connected"),
    ("connect", "closed_port", False, "refused"),
    ("connect", "full_backlog", False, "timeout"),
    ("blocked", "listening", False, "connected"),
    ("blocked", "closed_port", True, "refused"),
    ("blocked", "full_backlog", True, "timeout"),
])
def test_expected_against_actual(request: pytest.FixtureRequest, expect: str, where: str, passed: bool,
                                 actual: str) -> None:
    port = request.getfixturevalue(where)
    pauses: list[float] = []
    outcome = run_check(Check("flow-x", "127.0.0.1", port, expect), 0.3, 3, sleep=pauses.append)
    assert (outcome.passed, outcome.actual) == (passed, actual)
    line = outcome.line()
    assert line.startswith(("pass " if passed else "FAIL ") + f"flow-x 127.0.0.1:{port} expected {expect}, "
                           f"got {actual}")
    # only a connect that should work and did not is retried
    assert outcome.attempts == (3 if expect == "connect" and not passed else 1)
    assert pauses == [tcpprobe.RETRY_PAUSE_S] * (outcome.attempts - 1)


def test_no_dns_fails_either_way() -> None:
    for expect in ("connect", "blocked"):
        outcome = run_check(Check("f", "no-such-host.invalid", 80, expect), 1, 1)
        assert (outcome.passed, outcome.actual) == (False, "no-dns")


def test_verdict_line_names_the_first_failure(listening: int, closed_port: int) -> None:
    lines, ok = run_checks([Check("a", "127.0.0.1", listening, "connect"),
                            Check("b", "127.0.0.1", listening, "blocked"),
                            Check("c", "127.0.0.1", closed_port, "blocked")], 1, 1)
    assert not ok
    assert lines[-1] == f"fail: 1 of 3 checks not as expected: {lines[1]}"
    assert lines[1].startswith("FAIL b ")
    lines, ok = run_checks([Check("a", "127.0.0.1", listening, "connect")], 1, 1)
    assert ok and lines[-1] == "ok: 1 checks as expected"


def test_nameserver_reads_resolv_conf(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("search svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\n")
    assert nameserver(str(conf)) == "10.96.0.10"
    conf.write_text("search x\n")
    with pytest.raises(ValueError, match="no nameserver"):
        nameserver(str(conf))


def test_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(tcpprobe.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


def test_runs_alone_on_a_bare_python(tmp_path: Path, listening: int, closed_port: int) -> None:
    script = tmp_path / "tcpprobe.py"
    shutil.copy(tcpprobe.__file__, script)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-I", "-S", str(script), *args], capture_output=True,
                              text=True, timeout=60, check=False)

    good = run("--check", "f1", "127.0.0.1", str(listening), "connect",
               "--check", "f2", "127.0.0.1", str(closed_port), "blocked", "--timeout", "1")
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[-1] == "ok: 2 checks as expected"
    bad = run("--check", "f1", "127.0.0.1", str(closed_port), "connect", "--attempts", "1")
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[-1].startswith("fail: 1 of 1 checks not as expected: FAIL f1 ")
    for args in (["--check", "f", "h", "99999", "connect"], ["--check", "f", "h", "80", "maybe"],
                 ["--check", "f", "h"], []):
        usage = run(*args)
        assert usage.returncode == 2, args
        assert usage.stderr.count("\n") == 1 and usage.stderr.startswith("error: "), usage.stderr
