"""Environment files (environments/<env>.yaml): strict YAML, JSON-Schema-checked, typed.

Placeholder model for the foundation: the reference namespace only. The full model lands with the
charts (issue 3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from infergate.errors import ConfigError
from infergate.loader import Document, LoadProblem, line_of, load_text, read_text

SCHEMA_PATH = Path(__file__).parent / "data" / "environment.schema.json"


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    file: str
    namespace: str
    raw: dict[str, Any]


@lru_cache(maxsize=1)
def environment_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _read_document(path: Path) -> Document:
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


def load_environment(path: Path) -> Environment:
    doc = _read_document(path)
    validator = jsonschema.Draft202012Validator(environment_schema())
    errors = sorted(validator.iter_errors(doc.obj), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        key = ".".join(str(p) for p in err.absolute_path) or "<top>"
        raise ConfigError(f"{key}: {err.message}", file=str(path), line=line_of(doc, err.absolute_path))
    return Environment(name=path.stem, file=str(path), namespace=doc.obj["namespace"], raw=doc.obj)
