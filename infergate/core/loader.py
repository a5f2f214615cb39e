"""Strict, fast loading of Kubernetes YAML/JSON with file and line for every object.

One loader for validate, lint and flows. Files are split into YAML documents on ``---``/``...``
markers (the YAML spec forbids them inside content, so the split is exact), each document is parsed
with libyaml, and a document's problem never stops the others. Line numbers of nested paths are only
computed when a finding needs one (``line_of``), so the fast path pays nothing for them.
"""

from __future__ import annotations

import json
import operator
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 200
YAML_SUFFIXES = (".yaml", ".yml", ".json")
NOT_MANIFEST_SUFFIXES = (".values.yaml", ".patch.yaml")

_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t]|$)", re.MULTILINE)


class _StrictLoader(yaml.CSafeLoader):
    """libyaml parser; rejects duplicate keys and keys kubectl cannot stringify (null, collections; numbers
    and booleans become strings as kubectl makes them); timestamps stay strings (as in JSON)."""


def _json_key(key: Any) -> Any:
    """A scalar mapping key as kubectl turns it into a JSON key (sigs.k8s.io/yaml, yaml.go
    ``convertToJSONableMapKey``): ints and booleans are stringified (``1`` -> ``"1"``, ``true`` ->
    ``"true"``), floats formatted like Go's ``%g`` (``.inf``/``.nan`` spelled as YAML does); anything else
    (null, a sequence, a mapping) stays unsupported, as it is for kubectl."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        if key != key:
            return ".nan"
        if key in (float("inf"), float("-inf")):
            return ".inf" if key > 0 else "-.inf"
        return f"{key:g}"
    return key


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _json_key(loader.construct_object(key_node, deep=deep))
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {key!r} is not a string", key_node.start_mark)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


@dataclass(slots=True)
class Document:
    """One Kubernetes object (or other YAML document) and where it came from."""

    file: str
    index: int  # 0-based position of the document in its file
    line: int  # 1-based line of the document's first content line
    obj: Any
    text: str = field(repr=False, default="")  # the document's source, for line_of()
    first_line: int = 1  # 1-based line where ``text`` starts in the file
    prefix: tuple[str | int, ...] = ()  # path of ``obj`` inside the parsed ``text`` (List items)

    @property
    def ref(self) -> str:
        return object_ref(self.obj)


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """A file or document that could not be read; becomes a finding (exit 2 territory)."""

    file: str
    line: int | None
    message: str
    index: int | None = None


def object_ref(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "<not an object>"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind", "?")
    ns, name = meta.get("namespace"), meta.get("name", "?")
    return f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}"


def skipped_as_not_manifest(path: str | os.PathLike[str]) -> bool:
    """Helm values and patches (``*.values.yaml``, ``*.patch.yaml``, e.g. dist/fleet/argocd-config/) are
    YAML but no Kubernetes objects: validate and lint never read them, named or found."""
    return os.fspath(path).endswith(NOT_MANIFEST_SUFFIXES)


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | LoadProblem]:
    """Expand directories recursively (sorted, hidden entries skipped); keep explicit files as given.
    Helm values and patch files are skipped either way (:func:`skipped_as_not_manifest`)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                base = Path(root)  # parsed once per directory, not per file
                for name in sorted(files):
                    if name.endswith(YAML_SUFFIXES) and not name.startswith(".") \
                            and not skipped_as_not_manifest(name):
                        yield base / name
        elif skipped_as_not_manifest(path):
            continue
        elif path.exists():
            yield path
        else:
            yield LoadProblem(str(path), None, "no such file or directory")


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Yield (1-based start line, source) for each YAML document in ``text``."""
    start_offset, start_line = 0, 1
    for match in _DOC_MARKER.finditer(text):
        yield start_line, text[start_offset:match.start()]
        start_line += text.count("\n", start_offset, match.start())  # incremental: linear in the file
        # keep the marker line in the document (it may carry content: `--- {a: 1}`), blanked out
        start_offset = match.start()
    yield start_line, text[start_offset:]


def _content_line(source: str, first_line: int) -> int | None:
    # line by line with find(): the answer is almost always within the first two lines of a big document
    start, offset, size = 0, 0, len(source)
    while start < size:
        end = source.find("\n", start)
        end = size if end < 0 else end
        stripped = source[start:end].strip()
        if stripped.startswith(("---", "...")):
            stripped = stripped[3:].strip()
        if stripped and not stripped.startswith(("#", "%")):
            return first_line + offset
        start, offset = end + 1, offset + 1
    return None


def _check_size(obj: Any, file: str, line: int) -> LoadProblem | None:
    """Guard against alias bombs and absurd nesting before anything walks the object."""
    seen: dict[int, int] = {}

    def count(node: Any, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise _TooDeep
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in seen:
            return seen[key]
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += count(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                raise _TooBig
        seen[key] = total
        return total

    try:
        count(obj, 0)
    except _TooDeep:
        return LoadProblem(file, line, f"document nests deeper than {MAX_DEPTH} levels")
    except _TooBig:
        return LoadProblem(file, line, f"document expands to more than {MAX_EXPANDED_NODES} nodes "
                                       "(YAML alias bomb?)")
    return None


class _TooDeep(Exception):
    pass


class _TooBig(Exception):
    pass


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_OPENER_RUN = re.compile(r"[\[{]{" + str(MAX_DEPTH + 1) + "}")
_EMPTY_PAIR = re.compile(r"[\[{][\]}]")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nesting_too_deep(text: str) -> bool:
    """Cheap pre-parse bound: libyaml's composer recurses, so refuse pathological flow nesting.

    The depth (closers never take it below 0) is prefix sum minus running minimum; everything runs in
    C-level iterators over the brackets only (a real 16 MiB file: ~0.1 s; adversarial: ~2 s).
    """
    brackets = _NOT_BRACKETS.sub("", text)
    if len(brackets) <= MAX_DEPTH:
        return False
    if _OPENER_RUN.search(brackets):  # the common attack shape, found without building prefix sums
        return True
    # dropping adjacent open/close pairs lowers the maximum by at most one and empties most inputs
    brackets = _EMPTY_PAIR.sub("", brackets)
    if len(brackets) < MAX_DEPTH:
        return False
    sums = list(accumulate(map(_DELTA.__getitem__, brackets)))
    lows = accumulate(sums, min, initial=0)
    return max(map(operator.sub, sums, lows)) + 1 > MAX_DEPTH


# --- fast path: yaml-rs (Rust) parses ~10x faster than libyaml + PyYAML's Python constructor. It reads
# YAML 1.2, PyYAML (like Kubernetes' go-yaml) 1.1, so it only takes documents where the two cannot differ:
# anything that could be a 1.1-only scalar (yes/no/on/off, 0-prefixed or _-grouped or sexagesimal numbers,
# exponents without a dot), a non-string key, a tag, an anchor/alias/merge key, an explicit key, compact
# nested sequences or deep indentation goes to the strict PyYAML path, as does any document yaml-rs
# rejects (so error messages and limits stay those of the strict loader).
_NOT_FAST = object()
_RISKY_TEXT = ("&", "*", "!", "<<", "? ", "\n?", "\n%", "= ", "\n" + " " * 200)  # anchors, tags, keys...
# 1_000, 1e3, 1:30 (a digit run that starts a token: "tpu-v6e", a sha or "v1.2e" inside words is no number);
# and compact nested sequences (- - a)
_RISKY_NUMBER = re.compile(r"(?<![A-Za-z0-9_])[0-9][0-9_]*[_eE:]")
# every match of _RISKY_NUMBER contains one of _NUMBER_HINT's, which is ~5x cheaper to search for
_NUMBER_HINT = re.compile(r"[0-9][_eE:]")
_COMPACT_SEQUENCE = re.compile(r"-[ \t]+-[ \t]")
_ZERO = re.compile(r"0[0-9_bBoO]")  # 017, 0b1, 0o7: octal/binary differ between YAML 1.1 and 1.2
_WORDS = frozenset(["y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO",  # YAML 1.1 booleans
                    "on", "On", "ON", "off", "Off", "OFF"])
try:
    import yaml_rs
except ImportError:  # optional speed-up: the strict PyYAML path is always correct on its own
    yaml_rs = None


def _fast_load(source: str) -> Any:
    # a block scalar that ends a text without a final newline has no line break for PyYAML and one for
    # yaml-rs (found by the repository-wide test): such a document takes the strict path
    if not source.endswith("\n") and ("|" in source or ">" in source):
        return _NOT_FAST
    if yaml_rs is None:
        return _NOT_FAST
    # a script or config embedded as a block scalar (| or >) is one string in YAML 1.1 and 1.2 alike:
    # what looks risky inside it (* ! 0: in a shell or Python script) is judged without it
    if _risky_text(source) and (("|" not in source and ">" not in source)
                                or _risky_text(_outside_block_scalars(source))):
        return _NOT_FAST
    try:
        obj = yaml_rs.loads(source, parse_datetime=False)
    except Exception:  # any complaint: the strict path reports it in its own words
        return _NOT_FAST
    return obj if isinstance(obj, dict) and _plain(obj) else _NOT_FAST


_DIGITS_OR_UNDERSCORE = frozenset("0123456789_")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _has_risky_number(source: str) -> bool:
    """``_RISKY_NUMBER.search(source)``, found from the cheap hint's matches: walk back from each over the
    digit/underscore run to where a number token would start (3x faster on manifests full of digests;
    equivalence is a property test)."""
    for match in _NUMBER_HINT.finditer(source):
        start = match.start()
        while start > 0 and source[start - 1] in _DIGITS_OR_UNDERSCORE:
            start -= 1
        if source[start] != "_" and (start == 0 or source[start - 1] not in _WORD_CHARS):
            return True
    return False


def _risky_text(source: str) -> bool:
    """Text where YAML 1.1 and yaml-rs's 1.2 could read something differently (see _RISKY_TEXT)."""
    if _COMPACT_SEQUENCE.search(source) or _has_risky_number(source):
        return True
    for token in _RISKY_TEXT:  # a plain loop: this runs once per document on the hot path
        if token in source:
            return True
    for match in _ZERO.finditer(source):
        start = match.start()
        if start == 0 or not (source[start - 1].isalnum() or source[start - 1] in "._"):
            return True
    return False


# a line that opens a block scalar: `key: |`, `- >-`, `key: |2 # comment` (no '#' or quote before it)
_BLOCK_HEADER = re.compile(r"^( *)(?:-[ \t]+)*(?:[^#'\"\n]*?:[ \t]+)?[|>][-+1-9]{0,2}(?:[ \t]+#.*)?$")


def _outside_block_scalars(source: str) -> str:
    """``source`` with the bodies of its block scalars blanked (line count kept). A body line is indented
    deeper than where its header's node starts (its key, or the item after "- "); shallower bodies are
    left in place, which only keeps a document on the strict path."""
    lines = source.split("\n")
    base: int | None = None
    for i, line in enumerate(lines):
        if base is not None:
            body = line.lstrip(" ")
            if not body or len(line) - len(body) > base:
                lines[i] = ""
                continue
            base = None
        header = _BLOCK_HEADER.match(line)
        if header:
            dashes = re.match(r" *(?:-[ \t]+)*", line)
            base = dashes.end() if dashes else len(header.group(1))
    return "\n".join(lines)


def _plain(node: Any) -> bool:
    """No non-string key and no scalar that YAML 1.1 would read as a boolean (an explicit stack: scalars
    are tested inline, this walk runs over every object yaml-rs parses)."""
    words = _WORDS
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if type(key) is not str or key in words:
                    return False
                if type(value) is str:
                    if value in words:
                        return False
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(current, list):
            for value in current:
                if type(value) is str:
                    if value in words:
                        return False
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif type(current) is str and current in words:
            return False
    return True


def _yaml_problem(exc: yaml.YAMLError, file: str, first_line: int, index: int) -> LoadProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = first_line + mark.line if mark is not None else first_line
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context and context not in problem else "")
    return LoadProblem(file, line, " ".join(message.split()), index)


def read_text(path: Path) -> str | LoadProblem:
    file = str(path)
    try:  # os-level calls: pathlib's wrappers cost more than the read itself for small manifests
        with open(file, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                return LoadProblem(file, None, f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
            data = fh.read()
    except OSError as exc:
        return LoadProblem(file, None, f"cannot read file: {exc.strerror}")
    if b"\x00" in data:
        return LoadProblem(file, None, "binary file (contains NUL bytes), not YAML or JSON")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return LoadProblem(file, line, f"invalid UTF-8 at byte {exc.start}")


def load_text(text: str, file: str) -> Iterator[Document | LoadProblem]:
    if file.endswith(".json"):
        yield from _load_json(text, file)
        return
    if len(text) > 1024 and _nesting_too_deep(text):  # the cheap guard only matters for big inputs
        yield LoadProblem(file, None, f"flow collections nest deeper than {MAX_DEPTH} levels")
        return
    index = 0
    for first_line, source in _split_documents(text):
        line = _content_line(source, first_line)
        if line is None:
            continue  # empty document (comments only)
        try:
            obj = _fast_load(source)
            if obj is _NOT_FAST:
                obj = yaml.load(source, Loader=_StrictLoader)
        except yaml.YAMLError as exc:
            yield _yaml_problem(exc, file, first_line, index)
            index += 1
            continue
        except RecursionError:
            yield LoadProblem(file, line, "document nests too deeply", index)
            index += 1
            continue
        if obj is None:
            continue
        if ("*" in source and "&" in source) or len(source) > 262_144:
            problem = _check_size(obj, file, line)
            if problem is not None:
                yield problem
                index += 1
                continue
        yield Document(file, index, line, obj, source, first_line)
        index += 1


def _load_json(text: str, file: str) -> Iterator[Document | LoadProblem]:
    try:
        obj = json.loads(text, object_pairs_hook=_json_pairs)
    except json.JSONDecodeError as exc:
        yield LoadProblem(file, exc.lineno, f"invalid JSON: {exc.msg}")
        return
    except _DuplicateKey as exc:
        yield LoadProblem(file, None, f"duplicate key {exc.args[0]!r}")
        return
    except RecursionError:
        yield LoadProblem(file, None, "document nests too deeply")
        return
    yield Document(file, 0, 1, obj, text, 1)


class _DuplicateKey(Exception):
    pass


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def expand_lists(doc: Document) -> Iterator[Document]:
    """A ``kind: List`` (or ``*List``) stands for its items; each item keeps the List's location."""
    obj = doc.obj
    if isinstance(obj, dict) and isinstance(obj.get("kind"), str) and obj["kind"].endswith("List") \
            and isinstance(obj.get("items"), list) and "apiVersion" in obj:
        for i, item in enumerate(obj["items"]):
            yield Document(doc.file, doc.index, doc.line, item, doc.text, doc.first_line, ("items", i))
    else:
        yield doc


def load_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Document], list[LoadProblem]]:
    """Every object under ``paths`` (Lists expanded) and every problem met on the way."""
    files: list[Path] = []
    problems: list[LoadProblem] = []
    for item in iter_files(paths):
        (problems if isinstance(item, LoadProblem) else files).append(item)
    documents, load_problems = load_files(files)
    return documents, problems + load_problems


def load_files(files: Iterable[Path]) -> tuple[list[Document], list[LoadProblem]]:
    """Every object in ``files`` (Lists expanded) and every problem met reading them."""
    documents: list[Document] = []
    problems: list[LoadProblem] = []
    for path in files:
        text = read_text(path)
        if isinstance(text, LoadProblem):
            problems.append(text)
            continue
        for loaded in load_text(text, str(path)):
            if isinstance(loaded, LoadProblem):
                problems.append(loaded)
            else:
                documents.extend(expand_lists(loaded))
    return documents, problems


def line_of(doc: Document, path: Iterable[str | int]) -> int:
    """1-based line of the node at ``path`` inside ``doc`` (the deepest existing ancestor if absent)."""
    if not doc.text or doc.file.endswith(".json"):
        return doc.line
    try:
        node = yaml.compose(doc.text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return doc.line
    best = node.start_mark.line if node is not None else 0
    for step in (*doc.prefix, *path):
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key_node, value_node in node.value:
                if key_node.value == step:
                    best, node = key_node.start_mark.line, value_node
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            best = node.start_mark.line
        else:
            break
    return doc.first_line + best
