"""What `infergate check` remembers between runs, keyed by content hashes (never mtimes):
a marker per input hash whose dist/ matched a fresh synth, and the validate/lint results per input
hash. Entries are written atomically, so concurrent hooks never read half a file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from infergate.check.inputhash import package_versions
from infergate.core.findings import Finding, Severity

# Packages whose version changes what validate or lint report.
CHECK_PACKAGES = ("kubernetes-validate", "jsonschema", "jsonschema-rs", "common-expression-language",
                  "cel-python", "PyYAML")


def _dir() -> Path:
    from infergate.crds.lockfile import cache_root

    return cache_root() / "check"


MAX_ENTRIES = 256  # every edit makes a new key: keep the cache from growing without bound


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    prune(path.parent)


def prune(directory: Path, keep: int = MAX_ENTRIES) -> None:
    """Drop the least recently written entries beyond ``keep`` (a lost entry only costs a re-run)."""
    entries = [p for p in directory.iterdir() if p.suffix in (".fresh", ".json")]
    if len(entries) <= keep:
        return

    def written(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # pruned by a concurrent run
            return 0.0
    for path in sorted(entries, key=written)[: len(entries) - keep]:
        path.unlink(missing_ok=True)


def is_fresh(key: str) -> bool:
    return (_dir() / f"{key}.fresh").exists()


def remember_fresh(key: str) -> None:
    _write(_dir() / f"{key}.fresh", b"")


def canonical(value: Any) -> str:
    """Stable text for a config object: repr() of a frozenset changes with every process's hash seed."""
    def plain(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, dict):
            return {str(k): plain(v) for k, v in obj.items()}
        if isinstance(obj, (set, frozenset)):
            return sorted((plain(v) for v in obj), key=repr)
        if isinstance(obj, (list, tuple)):
            return [plain(v) for v in obj]
        return obj if isinstance(obj, (str, int, float, bool, type(None))) else str(obj)

    return json.dumps(plain(value), sort_keys=True)


def results_key(inputs_key: str, targets: list[Path], lint_config: str) -> str:
    """The inputs hash (dist/, sources, locks) plus what else validate and lint read."""
    digest = hashlib.sha256(inputs_key.encode())
    digest.update(package_versions(CHECK_PACKAGES).encode())
    settings = sorted((k, v) for k, v in os.environ.items() if k.startswith("INFERGATE_"))
    digest.update(f"\0env {settings}\0targets {[str(t) for t in targets]}\0lint {lint_config}".encode())
    return digest.hexdigest()


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(**{**data, "severity": Severity(data["severity"])})


def load_results(key: str) -> dict[str, tuple[list[Finding], dict[str, Any]]] | None:
    path = _dir() / f"{key}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {stage: ([_finding(f) for f in entry["findings"]], entry["summary"])
                for stage, entry in raw.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent or unreadable: run the stages again


def store_results(key: str, results: dict[str, tuple[list[Finding], dict[str, Any]]]) -> None:
    raw = {stage: {"findings": [f.to_dict() for f in findings], "summary": summary}
           for stage, (findings, summary) in results.items()}
    _write(_dir() / f"{key}.json", json.dumps(raw, sort_keys=True).encode())
