"""Pinned files: sync from the mirror, from a loopback HTTP server, and refuse anything unverified."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pty
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infergate.core.errors import IntegrityError
from infergate.crds import lockfile as crds
from tests.conftest import VENV_BIN, run_infergate

ENTRY = "gateway-api/gateway.networking.k8s.io_referencegrants"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def _cached_files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.is_file())


def test_lock_pins_every_mirrored_file_with_its_hash(mirror: Path) -> None:
    entries = crds.read_lock()
    assert len(entries) == 60  # 41 CRD files (profiles, 4 metrics monitors, LWS), 18 KServe presets, SARIF
    for entry in entries:
        data = (mirror / entry.mirror).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256, entry.name
        assert entry.url.startswith("https://raw.githubusercontent.com/")
        assert "/" + entry.url.split("/")[5] + "/" in entry.url  # a commit sha, not a branch
        assert len(entry.url.split("/")[5]) == 40


def test_sync_from_mirror_is_verified_and_idempotent(mirror: Path, cache_home: Path) -> None:
    results = crds.sync(mirror=mirror)
    assert all(source != "cached" for _, source in results)
    assert len(_cached_files(cache_home)) == 60
    assert all(source == "cached" for _, source in crds.sync(mirror=mirror))


def _tampered_mirror(mirror: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "mirror"
    shutil.copytree(mirror, copy)
    target = copy / crds.entry_named(ENTRY).mirror
    target.chmod(0o644)
    target.write_bytes(target.read_bytes().replace(b"ReferenceGrant", b"ReferenceGrunt", 1))
    return copy


def test_tampered_mirror_exits_2_names_file_and_hashes_and_leaves_nothing(
        mirror: Path, cache_home: Path, tmp_path: Path) -> None:
    bad = _tampered_mirror(mirror, tmp_path)
    result = run_infergate("crds", "sync", "--mirror", str(bad), env={"XDG_CACHE_HOME": str(cache_home)})
    assert result.returncode == 2
    entry = crds.entry_named(ENTRY)
    actual = hashlib.sha256((bad / entry.mirror).read_bytes()).hexdigest()
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert entry.mirror in message and entry.sha256 in message and actual in message
    assert not (cache_home / "infergate" / "files" / entry.mirror).exists()
    assert not [p for p in _cached_files(cache_home) if p.name.endswith(".part")]


def test_tampered_cache_copy_is_replaced_by_a_verified_one(mirror: Path, cache_home: Path) -> None:
    entry = crds.entry_named(ENTRY)
    crds.sync([entry], mirror=mirror)
    crds.cached_file(entry).write_text("tampered")
    assert not crds.is_cached(entry)
    crds.sync([entry], mirror=mirror)
    assert crds.is_cached(entry)


def test_missing_mirror_file_exits_2(cache_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_infergate("crds", "sync", "--mirror", str(empty), env={"XDG_CACHE_HOME": str(cache_home)})
    assert result.returncode == 2
    assert "missing from mirror" in result.stderr and "Traceback" not in result.stderr


class _UpstreamHandler(http.server.SimpleHTTPRequestHandler):
    """Serves <repo>/<commit>/<path> like the upstream raw host, from a directory tree; can misbehave."""

    truncate: set[str] = set()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        local = Path(self.translate_path(self.path))
        if not local.is_file():
            self.send_error(404)
            return
        data = local.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.path in self.truncate:
            data = data[: len(data) // 2]  # announce the full length, send half
        self.wfile.write(data)


@pytest.fixture
def upstream(mirror: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback server laid out like upstream (repo/commit/path) with the mirror's bytes."""
    root = tmp_path / "upstream"
    for entry in crds.read_lock():
        target = root / entry.url.removeprefix(crds.UPSTREAM_HOST + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / entry.mirror, target)
    _UpstreamHandler.truncate = set()
    handler = functools.partial(_UpstreamHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()


def test_download_path_fetches_and_verifies_every_file(
        upstream: tuple[str, Path], cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = upstream
    monkeypatch.setenv("INFERGATE_UPSTREAM_BASE", base)
    monkeypatch.delenv("INFERGATE_MIRROR", raising=False)
    results = crds.sync(mirror=None)
    assert {source.split("/")[2] for _, source in results} == {base.split("/")[2]}
    assert all(crds.is_cached(entry) for entry, _ in results)


def test_download_truncated_response_fails_and_caches_nothing(
        upstream: tuple[str, Path], cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = upstream
    entry = crds.entry_named(ENTRY)
    _UpstreamHandler.truncate = {"/" + entry.url.removeprefix(crds.UPSTREAM_HOST + "/")}
    result = run_infergate("crds", "sync", env={"XDG_CACHE_HOME": str(cache_home),
                                                "INFERGATE_UPSTREAM_BASE": base, "INFERGATE_MIRROR": ""})
    assert result.returncode == 2, result.stderr
    assert "truncated" in result.stderr or "mismatch" in result.stderr
    assert not crds.cached_file(entry).exists()
    assert not [p for p in _cached_files(cache_home) if p.name.endswith(".part")]


def test_download_wrong_hash_fails_and_caches_nothing(
        upstream: tuple[str, Path], cache_home: Path) -> None:
    base, root = upstream
    entry = crds.entry_named(ENTRY)
    served = root / entry.url.removeprefix(crds.UPSTREAM_HOST + "/")
    served.write_bytes(served.read_bytes() + b"\n# extra\n")
    result = run_infergate("crds", "sync", env={"XDG_CACHE_HOME": str(cache_home),
                                                "INFERGATE_UPSTREAM_BASE": base, "INFERGATE_MIRROR": ""})
    assert result.returncode == 2
    assert f"expected {entry.sha256}" in result.stderr
    assert not crds.cached_file(entry).exists()


def _assert_names_the_fix(message: str, entry: crds.LockEntry, url: str) -> None:
    """One line that says which file, from where, and how an offline site gets it instead."""
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
    assert entry.name in message and url in message
    assert f"INFERGATE_MIRROR=DIR (a directory laid out like the lock's mirror paths: DIR/{entry.mirror})" \
        in message
    assert "INFERGATE_UPSTREAM_BASE=URL (a proxy of https://raw.githubusercontent.com)" in message


def test_unreachable_upstream_exits_2_naming_file_url_and_offline_settings(tmp_path: Path) -> None:
    base = "http://127.0.0.1:9"  # discard port on loopback: nothing listens, the connection is refused
    result = run_infergate("crds", "sync", env={"XDG_CACHE_HOME": str(tmp_path / "cache"),
                                                "INFERGATE_UPSTREAM_BASE": base, "INFERGATE_MIRROR": ""},
                           timeout=120)
    assert result.returncode == 2
    first = crds.read_lock()[0]
    url = base + first.url.removeprefix(crds.UPSTREAM_HOST)
    assert result.stderr.startswith(f"error: {url}: cannot download {first.name}: ")
    _assert_names_the_fix(result.stderr.strip(), first, url)
    assert not (tmp_path / "cache" / "infergate" / "files").exists()


def test_http_error_names_status_and_the_fix(
        upstream: tuple[str, Path], cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, root = upstream
    entry = crds.entry_named(ENTRY)
    (root / entry.url.removeprefix(crds.UPSTREAM_HOST + "/")).unlink()
    monkeypatch.setenv("INFERGATE_UPSTREAM_BASE", base)
    monkeypatch.delenv("INFERGATE_MIRROR", raising=False)
    with pytest.raises(IntegrityError) as raised:
        crds.sync([entry], mirror=None)
    message = raised.value.one_line()
    assert "HTTP 404" in message
    _assert_names_the_fix(message, entry, crds.upstream_url(entry))


def test_download_over_the_size_limit_names_the_fix(
        upstream: tuple[str, Path], cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = upstream
    entry = crds.entry_named(ENTRY)
    monkeypatch.setenv("INFERGATE_UPSTREAM_BASE", base)
    monkeypatch.delenv("INFERGATE_MIRROR", raising=False)
    monkeypatch.setattr(crds, "MAX_DOWNLOAD_BYTES", 100)
    with pytest.raises(IntegrityError) as raised:
        crds.sync([entry], mirror=None)
    message = raised.value.one_line()
    assert "larger than 100 bytes" in message
    _assert_names_the_fix(message, entry, crds.upstream_url(entry))
    assert not crds.cached_file(entry).exists()


def test_server_that_never_answers_times_out_and_names_the_fix(
        cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never sends a byte
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("INFERGATE_UPSTREAM_BASE", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.delenv("INFERGATE_MIRROR", raising=False)
        monkeypatch.setattr(crds, "DOWNLOAD_TIMEOUT_S", 0.5)
        entry = crds.entry_named(ENTRY)
        with pytest.raises(IntegrityError) as raised:
            crds.sync([entry], mirror=None)
    message = raised.value.one_line()
    assert "no answer within 0.5 s" in message
    _assert_names_the_fix(message, entry, crds.upstream_url(entry))


def test_sync_in_a_log_prints_a_line_per_file_and_quiet_prints_nothing(mirror: Path, tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = run_infergate("crds", "sync", "--mirror", str(mirror), env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    names = [entry.name for entry in crds.read_lock()]
    assert [line.split(": ")[0] for line in lines[:-1]] == names
    assert all(": fetched from " + str(mirror) in line for line in lines[:-1])
    assert lines[-1] == f"{len(names)} files verified in {tmp_path / 'cache' / 'infergate' / 'files'}"
    assert result.stderr == ""  # no bar, no escape codes in a log
    again = run_infergate("crds", "sync", "--mirror", str(mirror), "--quiet", env=env)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_sync_on_a_terminal_draws_a_progress_bar_on_stderr(mirror: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "TERM": "xterm"}
    with subprocess.Popen([str(VENV_BIN / "infergate"), "crds", "sync", "--mirror", str(mirror)],
                          stdout=subprocess.PIPE, stderr=follower, env=env, text=True) as proc:
        os.close(follower)
        screen, deadline = b"", time.monotonic() + 120
        while time.monotonic() < deadline:
            if not select.select([leader], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        else:
            proc.kill()
        stdout = proc.stdout.read() if proc.stdout else ""
    os.close(leader)
    assert proc.returncode == 0
    total = len(crds.read_lock())
    text = screen.decode()
    assert "crds sync  [" in text and f"{total}/{total}" in text and "#" * 20 in text
    assert "\r" in text  # redrawn in place, not one line per file
    assert stdout.splitlines() == [f"{total} files verified in {tmp_path / 'cache' / 'infergate' / 'files'}"]
