"""celfast's compiled rules kept on disk between runs, as Python keeps ``__pycache__``.

Generating and compiling a rule costs ~0.5 ms; a pre-commit run over a few objects touches ~50 rules,
so without this it would pay ~25 ms a run. One file per (celfast source, Python version): the key hashes
celfast's own modules, so any change to the compiler starts a new file, and ``sys.version`` because the
marshal format of code objects changes between Python versions. Like ``__pycache__``, the file is trusted
as the user's own; an unreadable or damaged one is ignored and rebuilt. Rejected rules are remembered too.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import re
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Any

from infergate.crds.lockfile import cache_root
from infergate.validate.celfast.runtime import Duration

MISSING: Any = object()
Compiled = tuple[CodeType, dict[str, Any]]

_entries: dict[str, Any] | None = None  # rule -> (code, encoded consts) | None (rejected); loaded lazily
_dirty = False


def cache_file() -> Path:
    digest = hashlib.sha256(sys.version.encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return cache_root() / "celfast" / f"{digest.hexdigest()[:24]}.marshal"


def _load() -> dict[str, Any]:
    global _entries
    if _entries is None:
        try:
            data = marshal.loads(cache_file().read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            data = None
        _entries = data if isinstance(data, dict) else {}
    return _entries


def _encode(value: Any) -> tuple[str, Any]:
    """Constants of generated code in marshal's types (compiled regexes and durations are not)."""
    if type(value) is float:
        return "float", value
    if isinstance(value, re.Pattern):
        return "re", (value.pattern, value.flags)
    if type(value) is Duration:
        return "dur", value.ns
    raise TypeError(f"cannot store a {type(value).__name__} constant")


def _decode(kind: str, payload: Any) -> Any:
    if kind == "float":
        return float(payload)
    if kind == "re":
        return re.compile(*payload)
    if kind == "dur":
        return Duration(payload)
    raise ValueError(f"unknown constant kind {kind!r}")


def lookup(rule: str) -> Compiled | None:
    """The compiled rule, None if it was rejected, or MISSING."""
    entry = _load().get(rule, MISSING)
    if entry is MISSING or entry is None:
        return entry
    try:
        code, consts = entry
        if not isinstance(code, CodeType):
            return MISSING
        return code, {name: _decode(kind, payload) for name, kind, payload in consts}
    except (TypeError, ValueError, re.error):
        return MISSING


def remember(rule: str, compiled: Compiled | None) -> None:
    global _dirty
    if compiled is None:
        entry = None
    else:
        code, consts = compiled
        try:
            entry = (code, tuple((name, *_encode(value)) for name, value in consts.items()))
        except TypeError:
            return  # not storable: compiled again next run, still correct
    _load()[rule] = entry
    _dirty = True


def save() -> None:
    """Write the file if this process compiled anything new: atomically, and silently on failure (it is
    only a cache; a read-only home must not fail validation)."""
    global _dirty
    if not _dirty or _entries is None:
        return
    target = cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".celfast-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(_entries))
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, ValueError):
        return
    _dirty = False
