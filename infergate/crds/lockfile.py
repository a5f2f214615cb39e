"""Pinned upstream files (CRDs, the SARIF schema): read infergate/crds/crds.lock, fetch, verify, cache.

Nothing unverified ever lands in the cache: bytes are hashed in memory first and written atomically
(temp file + rename in the same directory). Sources, in order of preference:
  * ``$INFERGATE_MIRROR`` (or ``--mirror``): a directory laid out like the lock's ``mirror`` paths;
  * the upstream URL, optionally rebased with ``$INFERGATE_UPSTREAM_BASE`` (air-gapped proxies, tests).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from infergate.core.errors import ConfigError, IntegrityError

UPSTREAM_HOST = "https://raw.githubusercontent.com"
LOCK_PATH = Path(__file__).resolve().parent / "crds.lock"
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class LockEntry:
    name: str
    kind: str  # "crd" | "preset" | "schema"
    version: str
    mirror: str
    url: str
    sha256: str


def read_lock(path: Path = LOCK_PATH) -> list[LockEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("lock file not found", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid lock file: {exc}", file=str(path)) from exc
    entries = []
    for i, raw in enumerate(data.get("file", [])):
        try:
            entries.append(LockEntry(**raw))
        except TypeError as exc:
            raise ConfigError(f"lock entry #{i + 1} is malformed: {exc}", file=str(path)) from exc
    return entries


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infergate"


def cached_file(entry: LockEntry) -> Path:
    return cache_root() / "files" / entry.mirror


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upstream_url(entry: LockEntry) -> str:
    base = os.environ.get("INFERGATE_UPSTREAM_BASE")
    if base and entry.url.startswith(UPSTREAM_HOST):
        return base.rstrip("/") + entry.url[len(UPSTREAM_HOST):]
    return entry.url


class _DownloadFailed(Exception):
    """Why a download failed, in words; _fetch adds which file it was and how to do without the network."""


def _download(url: str) -> bytes:
    import http.client  # only the download path pays for the HTTP stack (pre-commit never does)
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as resp:
            expected = resp.headers.get("Content-Length")
            data = resp.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:  # before URLError: it is one
        raise _DownloadFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:  # connect failures; a connect timeout arrives wrapped in one
        timed_out = isinstance(exc.reason, TimeoutError)
        raise _DownloadFailed(_no_answer() if timed_out else str(exc.reason)) from exc
    except TimeoutError as exc:  # the server accepted but stopped sending
        raise _DownloadFailed(_no_answer()) from exc
    except (OSError, ValueError) as exc:  # reset connections, malformed URLs (a bad INFERGATE_UPSTREAM_BASE)
        raise _DownloadFailed(str(exc)) from exc
    except http.client.HTTPException as exc:  # a server that does not speak HTTP (no OSError)
        raise _DownloadFailed(f"{type(exc).__name__}: {exc}") from exc
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise _DownloadFailed(f"larger than {MAX_DOWNLOAD_BYTES} bytes")
    if expected is not None and expected.isdigit() and int(expected) != len(data):
        raise _DownloadFailed(f"truncated download: got {len(data)} of {expected} bytes")
    return data


def _no_answer() -> str:  # read at failure time: tests shorten DOWNLOAD_TIMEOUT_S
    return f"no answer within {DOWNLOAD_TIMEOUT_S} s"


def offline_hint(entry: LockEntry) -> str:
    """How a site without access to the upstream host gets ``entry`` anyway."""
    return (f"offline sites set INFERGATE_MIRROR=DIR (a directory laid out like the lock's mirror paths: "
            f"DIR/{entry.mirror}) or INFERGATE_UPSTREAM_BASE=URL (a proxy of {UPSTREAM_HOST})")


def _fetch(entry: LockEntry, mirror: Path | None) -> tuple[bytes, str]:
    if mirror is not None:
        source = mirror / entry.mirror
        try:
            return source.read_bytes(), str(source)
        except OSError as exc:
            raise IntegrityError(f"missing from mirror: {exc.strerror}", file=str(source)) from exc
    url = upstream_url(entry)
    try:
        return _download(url), url
    except _DownloadFailed as exc:
        raise IntegrityError(f"cannot download {entry.name}: {exc}; {offline_hint(entry)}", file=url) from exc


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_cached(entry: LockEntry) -> bool:
    path = cached_file(entry)
    try:
        return sha256_bytes(path.read_bytes()) == entry.sha256
    except OSError:
        return False


def sync_entry(entry: LockEntry, mirror: Path | None) -> str:
    """Make the cache hold a verified copy of ``entry``; return "cached" or the source it came from."""
    if is_cached(entry):
        return "cached"
    cached_file(entry).unlink(missing_ok=True)  # a tampered or partial copy must not survive
    data, source = _fetch(entry, mirror)
    actual = sha256_bytes(data)
    if actual != entry.sha256:
        raise IntegrityError(
            f"sha256 mismatch for {entry.name}: expected {entry.sha256}, got {actual}", file=source)
    _write_atomically(cached_file(entry), data)
    return source


def mirror_from_env() -> Path | None:
    value = os.environ.get("INFERGATE_MIRROR")
    return Path(value) if value else None


def sync(entries: list[LockEntry] | None = None, mirror: Path | None = None) -> list[tuple[LockEntry, str]]:
    entries = read_lock() if entries is None else entries
    mirror = mirror if mirror is not None else mirror_from_env()
    return [(entry, sync_entry(entry, mirror)) for entry in entries]


def entry_named(name: str, entries: list[LockEntry] | None = None) -> LockEntry:
    for entry in read_lock() if entries is None else entries:
        if entry.name == name:
            return entry
    raise ConfigError(f"no pinned file named {name!r} in infergate/crds/crds.lock")


def verified_path(entry: LockEntry) -> Path:
    """Path of the cached copy; fails (exit 2) if it is absent, telling the user how to get it."""
    path = cached_file(entry)
    if not path.exists():
        raise IntegrityError(f"{entry.name} is not in the cache: run `infergate crds sync`", file=str(path))
    return path
