"""extra/ folders (environment `extra:`): user-owned manifests copied byte for byte into dist/<env>/<folder>/.

A copy keeps the user's file names, comments and line numbers, so a validate or lint finding in
dist/<env>/<folder>/<file>:<line> points at the same line of extra/<source>/<file>. Everything is read and
checked before anything is written: a file that is not strict YAML, holds a document that is not a
Kubernetes object, or a folder that is missing or empty is a one-line ConfigError (exit 2).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from infergate.core.errors import ConfigError
from infergate.core.loader import (
    NOT_MANIFEST_SUFFIXES,
    LoadProblem,
    line_of,
    load_text,
    read_text,
    skipped_as_not_manifest,
)
from infergate.synth.config import ExtraFolder

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ExtraObject:
    """What the Argo CD chart needs to know of a copied object (its AppProject admits cluster kinds)."""

    group: str
    kind: str
    namespace: str | None


@dataclass(frozen=True, slots=True)
class CheckedFolder:
    spec: ExtraFolder
    files: tuple[Path, ...]
    objects: tuple[ExtraObject, ...]


def _fail(spec: ExtraFolder, message: str) -> ConfigError:
    """An error located where the environment file declares the folder."""
    return ConfigError(f"extra folder {spec.folder!r}: {message}", file=spec.file, line=spec.line)


def _objects(path: Path) -> list[ExtraObject]:
    text = read_text(path)
    if isinstance(text, LoadProblem):
        raise ConfigError(text.message, file=text.file, line=text.line)
    found: list[ExtraObject] = []
    for doc in load_text(text, str(path)):
        if isinstance(doc, LoadProblem):
            raise ConfigError(doc.message, file=doc.file, line=doc.line)
        obj = doc.obj
        if not isinstance(obj, dict):
            raise ConfigError(f"document {doc.index + 1} is a {type(obj).__name__}, not a Kubernetes object "
                              "(a mapping with apiVersion and kind)", file=doc.file, line=doc.line)
        for key in ("apiVersion", "kind"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                where = line_of(doc, [key]) if key in obj else doc.line
                raise ConfigError(f"document {doc.index + 1} has no {key}: not a Kubernetes object",
                                  file=doc.file, line=where)
        meta = obj.get("metadata")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        group = obj["apiVersion"].rpartition("/")[0]
        found.append(ExtraObject(group, obj["kind"], namespace if isinstance(namespace, str) else None))
    if not found:
        raise ConfigError("holds no Kubernetes object (only empty documents or comments)", file=str(path))
    return found


def check_folder(spec: ExtraFolder) -> CheckedFolder:
    """The files synth copies for ``spec`` (sorted by name), each read and checked."""
    source = spec.source
    if not source.is_dir():
        raise _fail(spec, f"source folder {source} not found")
    files = sorted(p for p in source.iterdir()
                   if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith("."))
    if not files:
        raise _fail(spec, f"no *.yaml or *.yml files directly in {source}")
    for path in files:
        if skipped_as_not_manifest(path):  # validate and lint would never read the copy
            suffix = next(s for s in NOT_MANIFEST_SUFFIXES if path.name.endswith(s))
            raise ConfigError(f"a manifest may not be named *{suffix}: infergate reads such files as Helm "
                              "values or patches, never as Kubernetes objects; rename it", file=str(path))
    objects = tuple(obj for path in files for obj in _objects(path))
    return CheckedFolder(spec, tuple(files), objects)


def copy_folder(checked: CheckedFolder, env_outdir: Path) -> None:
    """Byte copies into ``env_outdir``/<folder>/ (file modes are not copied: the output is the same
    on every machine)."""
    target = env_outdir / checked.spec.folder
    target.mkdir(parents=True, exist_ok=True)
    for path in checked.files:
        shutil.copyfile(path, target / path.name)
