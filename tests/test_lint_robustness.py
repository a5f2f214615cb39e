"""No rule may crash on odd but loadable input: wrong types anywhere in the objects the rules read.

Every registered rule is covered (NP1xx included). Derandomized, so a run is reproducible in CI.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from infergate.policies import all_rules, example_files

from infergate.core.loader import Document, load_text
from infergate.lint import lint_documents
from infergate.lint.platform import Platform

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=6),
                    st.sampled_from(["", "Service", "InferencePool", "HTTPS", "--pool-name", "*", "app"]))
JUNK = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                    max_leaves=8)


def _example_objects() -> list[dict]:
    """Every object of every rule example: realistic shapes to break."""
    objects = []
    for rule in all_rules():
        for example in (*rule.bad, *rule.good):
            for name, text in example_files(example):
                objects.extend(d.obj for d in load_text(text, name) if isinstance(d, Document))
    return objects


BASE = _example_objects()


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            if prefix or key not in ("apiVersion", "kind"):
                found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _set(obj: dict, path: tuple, value: object) -> None:
    for step in path[:-1]:
        obj = obj[step]
    obj[path[-1]] = value


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rules_survive_wrong_types(data: st.DataObject) -> None:
    docs = []
    for _ in range(data.draw(st.integers(1, 4))):
        obj = copy.deepcopy(data.draw(st.sampled_from(BASE)))
        for _ in range(data.draw(st.integers(1, 3))):
            paths = _paths(obj)
            if paths:
                _set(obj, data.draw(st.sampled_from(paths)), data.draw(JUNK))
        docs.append(Document("fuzz.yaml", len(docs), 1, obj, "", 1))
    findings, _ = lint_documents(docs, platform=Platform())
    crashed = [f.message for f in findings if f.code == "E002"]
    assert crashed == []
