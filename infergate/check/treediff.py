"""Compare a freshly synthesized tree with the committed one: which files changed, were added or
are missing, with a unified diff per changed file (what `infergate check` shows when dist/ is stale)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class TreeDiff:
    changed: list[str] = field(default_factory=list)   # in both, different bytes
    missing: list[str] = field(default_factory=list)   # generated, but absent from the committed tree
    extra: list[str] = field(default_factory=list)     # committed, but no longer generated
    patch: str = ""                                     # unified diff, committed -> expected

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.extra)


def tree_files(root: Path) -> dict[str, Path]:
    """Relative POSIX path -> file, for every regular file under ``root`` (none if it does not exist)."""
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    text = path.read_bytes().decode("utf-8", errors="replace")
    return text.splitlines(keepends=True)


def _unified(rel: str, label: str, committed: Path | None, expected: Path | None) -> str:
    old = f"a/{label}/{rel}" if committed is not None else "/dev/null"
    new = f"b/{label}/{rel}" if expected is not None else "/dev/null"
    out = []
    for line in difflib.unified_diff(_lines(committed), _lines(expected), old, new):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def compare_trees(committed: Path, expected: Path, label: str = "dist") -> TreeDiff:
    """Diff ``committed`` against ``expected``; ``label`` names the committed tree in the patch headers."""
    have, want = tree_files(committed), tree_files(expected)
    diff = TreeDiff()
    patches = []
    for rel in sorted(have.keys() | want.keys()):
        old, new = have.get(rel), want.get(rel)
        if old is not None and new is not None:
            if old.read_bytes() == new.read_bytes():
                continue
            diff.changed.append(rel)
        elif old is None:
            diff.missing.append(rel)
        else:
            diff.extra.append(rel)
        patches.append(_unified(rel, label, old, new))
    diff.patch = "".join(patches)
    return diff
