"""Duplicate keys: name the object and the path, then keep validating (last value wins).

The strict loader refuses a document with a repeated key (one unreadable-input problem, no object).
For validation that hides too much: the API server's strict decoding names the field, and the rest of
the object may hold more errors. So the document is re-read leniently: every repeated key is located
(path + line) from the node tree, and the object is rebuilt with the last value winning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from infergate.core.loader import Document, LoadProblem, _split_documents, read_text


class _LastWins(yaml.CSafeLoader):
    """libyaml, duplicate keys allowed (last wins), timestamps stay strings like the strict loader."""


_LastWins.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


@dataclass(frozen=True, slots=True)
class Duplicate:
    path: tuple[str | int, ...]
    line: int  # 1-based, in the file


def is_duplicate_key_problem(problem: LoadProblem) -> bool:
    return "duplicate key" in problem.message


def recover(problem: LoadProblem) -> tuple[Document, list[Duplicate]] | None:
    """The document ``problem`` points at, parsed leniently, and its duplicate keys (None: give up)."""
    text = read_text(Path(problem.file))
    if isinstance(text, LoadProblem):
        return None
    if problem.file.endswith(".json"):
        chunks = [(1, text)]
    else:
        target = problem.line or 1
        chunks = [chunk for chunk in _split_documents(text) if chunk[0] <= target][-1:]
    for first_line, source in chunks:
        try:
            node = yaml.compose(source, Loader=yaml.CSafeLoader)
            obj = yaml.load(source, Loader=_LastWins)
        except (yaml.YAMLError, RecursionError):
            return None
        if node is None or not all(isinstance(k, str) for k in _keys(obj)):
            return None
        found: list[Duplicate] = []
        _walk(node, (), first_line, found)
        if found:
            line = first_line + node.start_mark.line
            return Document(problem.file, problem.index or 0, line, obj, source, first_line), found
    return None


def _keys(obj: object) -> list[object]:
    return list(obj) if isinstance(obj, dict) else ["ok"]


def _walk(node: yaml.Node, path: tuple[str | int, ...], first_line: int, found: list[Duplicate]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                found.append(Duplicate((*path, key), first_line + key_node.start_mark.line))
            seen.add(key)
            _walk(value_node, (*path, key), first_line, found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), first_line, found)
