"""Checks that walk an object along its JSON schema: what the API server does structurally beyond the
keywords a JSON Schema validator knows.

- Server-side apply converts the object to a typed value first (sigs.k8s.io/structured-merge-diff/v4
  typed/helpers.go ``keyedAssociativeListItemToPathElement`` / ``setItemToPathElement``): an item of an
  associative list (``x-kubernetes-list-type: map`` or ``set``) may not be ``null`` ("associative list
  ... has an element that's an explicit null", a 500). Atomic lists may hold nulls. The built-in schemas
  (kubernetes-validate) say ``"type": [..., "null"]`` almost everywhere, so the schema passes such an
  item; the list type is what refuses it. This covers ObjectMeta (``finalizers`` is a set,
  ``ownerReferences`` a map) for custom resources too.
- ``format: byte`` in a CRD schema: apiextensions-apiserver validates the formats it supports
  (k8s.io/apiextensions-apiserver/pkg/apiserver/validation/formats.go) with kube-openapi's strfmt
  registry, where "byte" is a base64 pattern (k8s.io/kube-openapi/pkg/validation/strfmt/default.go).
  crd_schema.convert marks such nodes ``x-infergate-format: byte``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

BYTE_MARK = "x-infergate-format"
ASSOCIATIVE = ("map", "set")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The node and what it refers to (``$ref``) or combines with ``allOf``, flattened."""
    out: list[dict[str, Any]] = []
    todo = [schema]
    while todo:
        node = todo.pop()
        if not isinstance(node, dict):
            continue
        out.append(node)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            todo.append(root.get("$defs", {}).get(ref[len("#/$defs/"):], {}))
        for sub in node.get("allOf", ()):
            todo.append(sub)
    return out


def _walk(value: Any, nodes: list[dict[str, Any]], root: dict[str, Any], at: Path,
          visit: Any) -> Iterator[Problem]:
    yield from visit(value, nodes, at)
    if isinstance(value, dict):
        for key, child in value.items():
            subs: list[dict[str, Any]] = []
            for node in nodes:
                props = node.get("properties")
                if isinstance(props, dict) and key in props:
                    subs.extend(_resolve(props[key], root))
                elif isinstance(node.get("additionalProperties"), dict):
                    subs.extend(_resolve(node["additionalProperties"], root))
            if subs:
                yield from _walk(child, subs, root, (*at, key), visit)
    elif isinstance(value, list):
        subs = [s for node in nodes if isinstance(node.get("items"), dict)
                for s in _resolve(node["items"], root)]
        if subs:
            for i, child in enumerate(value):
                yield from _walk(child, subs, root, (*at, i), visit)


def walk(obj: Any, schema: dict[str, Any], visit: Any) -> Iterator[Problem]:
    """``visit(value, schema_nodes, path)`` at every value the schema describes."""
    yield from _walk(obj, _resolve(schema, schema), schema, (), visit)


def has_null_item(node: Any) -> bool:
    """Is there a ``null`` item in any list (the cheap test before walking the schema)?"""
    if isinstance(node, dict):
        return any(has_null_item(v) for v in node.values())
    if isinstance(node, list):
        return any(v is None or has_null_item(v) for v in node)
    return False


def _null_items(value: Any, nodes: list[dict[str, Any]], at: Path) -> Iterator[Problem]:
    if not isinstance(value, list):
        return
    list_type = next((n["x-kubernetes-list-type"] for n in nodes if n.get("x-kubernetes-list-type")), None)
    if list_type not in ASSOCIATIVE:
        return
    for i, item in enumerate(value):
        if item is None:
            what = "with keys" if list_type == "map" else "without keys"
            yield (*at, i), (f"null item in an associative list (x-kubernetes-list-type: {list_type}): "
                             f"server-side apply refuses it (\"associative list {what} has an element "
                             "that's an explicit null\")")


def null_items(obj: Any, schema: dict[str, Any]) -> Iterator[Problem]:
    if has_null_item(obj):
        yield from walk(obj, schema, _null_items)


# kube-openapi strfmt "byte" (isBase64, the govalidator pattern): whole padded quanta of the standard
# alphabet, at least one, no line breaks. Stricter than Go's base64 decoder used for built-in []byte
# fields (builtin._is_base64): "" and "aGVs\nbG8=" are not `format: byte` (the server agrees).
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})")


def is_base64(value: str) -> bool:
    return _BASE64.fullmatch(value) is not None


def _byte_strings(value: Any, nodes: list[dict[str, Any]], at: Path) -> Iterator[Problem]:
    if isinstance(value, str) and any(n.get(BYTE_MARK) == "byte" for n in nodes) and not is_base64(value):
        yield at, f"must be of type byte: {value[:40]!r} is not base64 (`format: byte`)"


def byte_fields(obj: Any, schema: dict[str, Any]) -> Iterator[Problem]:
    yield from walk(obj, schema, _byte_strings)
