"""Environment files as files: one strict YAML mapping each, and the ``base:`` chain it inherits from.

Split from ``config`` (which validates and interprets the merged result) so that tools needing one
declared value - ``validate`` reads ``kubernetesVersion`` to pick the core schemas for ``dist/<env>`` -
do not pay for config's import and full validation on every pre-commit run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError
from infergate.core.loader import Document, LoadProblem, line_of, load_text, read_text

MAX_BASE_DEPTH = 8


def read_document(path: Path) -> Document:
    if not path.is_file():
        raise ConfigError("environment file not found", file=str(path))
    text = read_text(path)
    if isinstance(text, LoadProblem):
        raise ConfigError(text.message, file=text.file, line=text.line)
    docs = list(load_text(text, str(path)))
    if len(docs) != 1:
        raise ConfigError("an environment file holds exactly one YAML document", file=str(path))
    doc = docs[0]
    if isinstance(doc, LoadProblem):
        raise ConfigError(doc.message, file=doc.file, line=doc.line)
    if not isinstance(doc.obj, dict):
        raise ConfigError("an environment file is a mapping", file=str(path), line=doc.line)
    return doc


def base_path(doc: Document) -> Path | None:
    base = doc.obj.get("base")
    if base is None:
        return None
    if not isinstance(base, str) or not base:
        raise ConfigError("base: must be an environment file stem or relative path", file=doc.file,
                          line=line_of(doc, ["base"]))
    here = Path(doc.file).parent
    candidate = here / base
    if candidate.suffix not in (".yaml", ".yml"):
        candidate = here / f"{base}.yaml"
    return candidate


def chain(path: Path) -> list[Document]:
    """The file and its bases, most derived first."""
    docs: list[Document] = []
    seen: set[Path] = set()
    current: Path | None = path
    while current is not None:
        resolved = current.resolve()
        if resolved in seen:
            raise ConfigError(f"base: inheritance cycle through {current.name}", file=docs[-1].file,
                              line=line_of(docs[-1], ["base"]))
        if len(docs) > MAX_BASE_DEPTH:
            raise ConfigError(f"base: chain deeper than {MAX_BASE_DEPTH} files", file=str(path))
        seen.add(resolved)
        if docs and not current.is_file():
            raise ConfigError(f"base: {current} not found", file=docs[-1].file,
                              line=line_of(docs[-1], ["base"]))
        doc = read_document(current)
        docs.append(doc)
        current = base_path(doc)
    return docs


def declared(path: Path | list[Document], key: str) -> tuple[Any, Document] | None:
    """The top-level ``key`` as the most derived file of the chain declares it, and that file's document.
    ``path`` may be a chain already read, so several keys cost one read of the files."""
    for doc in chain(path) if isinstance(path, Path) else path:
        if key in doc.obj:
            return doc.obj[key], doc
    return None
