"""What the API server does to an object before it validates it: drop nulls, apply schema defaults.

- Built-in kinds are decoded into Go structs (k8s.io/apimachinery/pkg/runtime/serializer/json): a JSON
  ``null`` leaves the field at its zero value, i.e. as if absent. Nulls in mappings are dropped.
- Custom resources (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting/algorithm.go
  ``Default``): absent fields, and ``null`` in a field that has a default, take the default before the
  schema is checked, so ``oneOf``/``required`` see them. A ``null`` in a field *without* a default is not
  pruned for custom resources: kube-apiserver 1.33 rejects it ("must be of type string: \"null\""), as
  tests/test_validate_differential.py shows (``PruneNonNullableNullsWithoutDefaults`` in prunenulls.go only
  serves the CRD's own default values). ``metadata`` is decoded as a Go struct: its nulls are dropped.

The engine only calls this for objects that fail the schema as written (the fast path stays one
``is_valid`` call); nulls and missing defaults are the only reasons a normalized object then passes.
"""

from __future__ import annotations

import copy
from typing import Any


def drop_nulls(node: Any) -> Any:
    """Every ``null`` mapping value removed, recursively (in place; returns ``node``)."""
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if v is None]:
            del node[key]
        for value in node.values():
            drop_nulls(value)
    elif isinstance(node, list):
        for value in node:
            drop_nulls(value)
    return node


def apply_defaults(node: Any, plan: dict[str, Any] | None) -> Any:
    """The structural defaults of ``plan`` (cel.extract_plan's "d") applied where fields are absent or
    null (a nullable field with a default keeps its null upstream; no pinned CRD has one)."""
    if not plan:
        return node
    if isinstance(node, dict):
        for name, default in plan.get("d", {}).items():
            if node.get(name) is None:
                node[name] = copy.deepcopy(default)
        for name, sub in plan.get("p", {}).items():
            if name in node:
                apply_defaults(node[name], sub)
        sub = plan.get("a")
        if sub:
            for value in node.values():
                apply_defaults(value, sub)
    elif isinstance(node, list) and plan.get("i"):
        for value in node:
            apply_defaults(value, plan["i"])
    return node
