"""A content hash of everything a synth result depends on, so `infergate check` can skip the
re-synth (jsii start-up alone costs ~0.6 s) when neither the inputs nor dist/ changed.

Keyed on content, never on mtimes: a fresh clone or a `git checkout` of the same tree hits the cache.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

from infergate.project.discovery import Project

# Python packages whose version changes the YAML cdk8s writes.
SYNTH_PACKAGES = ("cdk8s", "cdk8s-plus-33", "constructs", "jsii")
SOURCE_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".lua", ".toml", ".txt", ".lock"}
# Folders of a project that never feed synth (its output, tool state); any other Python file can hold a
# user chart (environment `charts:` names module:function), so all of them are hashed.
SKIPPED_DIRS = {"node_modules", "__pycache__", "cdk8s.out", "imports", "venv", "env", "build",
                "site-packages"}


def package_dir(name: str) -> Path | None:
    """Where a top-level package lives, found without importing it (no cdk8s start-up cost)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _files_under(root: Path, suffixes: set[str] | None = None) -> Iterable[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts
                  and (suffixes is None or p.suffix in suffixes))


def _feed(digest: hashlib._Hash, label: str, files: Iterable[Path], root: Path) -> None:
    for path in files:
        data = path.read_bytes()
        digest.update(f"{label}/{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)


def package_versions(names: Iterable[str]) -> str:
    """`name==version` of each package ("absent" when not installed): a cache key part that changes
    whenever an upgrade could change the output."""
    parts = []
    for name in names:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        parts.append(f"pkg {name}=={version}\0")
    return "".join(parts)


def _project_inputs(project: Project, dist: Path) -> list[Path]:
    """The project file, environments/, extra/ and every Python file (user charts), outside dist/ and
    hidden or tool folders (.git, .venv, node_modules)."""
    inputs: set[Path] = {project.file}
    inputs.update(_files_under(project.environments_dir))
    inputs.update(_files_under(project.extra_dir))
    for path in project.root.rglob("*.py"):
        rel = path.relative_to(project.root).parts
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in rel[:-1]):
            continue
        if dist not in path.parents:
            inputs.add(path)
    return sorted(inputs)


def synth_inputs_hash(project: Project, dist: Path, envs: Iterable[str] = ()) -> str:
    """sha256 over the project's inputs, the infergate sources and package data (CRD lock, TPU table),
    tool versions, the selected environments and the committed output tree itself."""
    digest = hashlib.sha256()
    digest.update(f"python {sys.version_info[:3]}\0envs {sorted(envs)}\0".encode())
    digest.update(package_versions(SYNTH_PACKAGES).encode())
    _feed(digest, "project", _project_inputs(project, dist), project.root)
    for package in ("infergate", "infergate.charts", "infergate.policies"):
        root = package_dir(package)
        if root is not None:
            _feed(digest, package, _files_under(root, SOURCE_SUFFIXES), root)
    _feed(digest, "dist", _files_under(dist), dist)
    return digest.hexdigest()
