"""Scopes: which linted files form one cluster.

A scope is linted as one cluster: duplicates inside it are CD503 and cross-object rules resolve names inside
it only. ``dist/<env>`` of an infergate project is always its own scope (with its environment's facts). The
other files form one scope (``--scope cluster``, the default), one per directory (``--scope dir``: a
repository of alternative samples, e.g. KServe's preset directories), or one per directory matching a glob
of the config's ``scopes`` (files under no match share one scope).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

SCOPE_MODES = ("cluster", "dir")


def _glob_scope(file: Path, globs: Sequence[str], base: Path) -> str | None:
    """The shallowest directory holding ``file`` that matches a glob (matched part by part, relative to
    ``base``: ``samples/*`` matches ``samples/a`` but not ``samples/a/b``)."""
    try:
        rel = PurePosixPath(Path(os.path.abspath(file)).relative_to(base).as_posix())
    except ValueError:
        rel = PurePosixPath(Path(file).as_posix())
    parts = rel.parent.parts
    for depth in range(1, len(parts) + 1):
        head = parts[:depth]
        for glob in globs:
            pattern = PurePosixPath(glob.strip("/")).parts
            if len(pattern) == depth and all(
                fnmatch.fnmatchcase(p, g) for p, g in zip(head, pattern, strict=True)
            ):
                return str(base / Path(*head))
    return None


def group_files(
    files: Sequence[Path],
    scope: str,
    globs: Sequence[str],
    config_file: str | None,
    cluster_of: Callable[[str], Path | None],
) -> list[tuple[str, Path | None, list[Path]]]:
    """(scope key, dist/<env> root or None, files) per scope, sorted by key (the report's order is fixed)."""
    if scope not in SCOPE_MODES:
        raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPE_MODES)}")
    base = Path(os.path.abspath(os.path.dirname(config_file))) if config_file else Path(os.getcwd())
    groups: dict[str, tuple[Path | None, list[Path]]] = {}
    for file in files:
        root = cluster_of(str(file))
        if root is not None:
            key = f"env:{root}"
        elif scope == "dir":
            key = f"dir:{os.path.dirname(os.path.abspath(file))}"
        else:
            matched = _glob_scope(file, globs, base) if globs else None
            key = f"glob:{matched}" if matched else ""
        groups.setdefault(key, (root, []))[1].append(file)
    return [(key, root, group) for key, (root, group) in sorted(groups.items())]
