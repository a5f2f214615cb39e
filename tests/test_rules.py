"""Every rule's examples are its tests: bad examples fire exactly that rule on the marked lines, good
examples fire nothing."""

from __future__ import annotations

import pytest
from infergate.policies import Rule, all_rules, example_files, expected_lines
from infergate.policies._examples import CONTEXTS

from infergate.core.loader import Document, load_text
from infergate.lint import lint_documents
from infergate.lint.platform import Platform

RULES = all_rules()
# an example is a whole cluster (as dist/<env>): what it does not hold does not exist
EXAMPLE_PLATFORM = Platform(source="examples", closed_world=True)


def example_documents(example: str) -> list[Document]:
    documents: list[Document] = []
    for name, text in example_files(example):
        documents.extend(d for d in load_text(text, name) if isinstance(d, Document))
    return documents


def object_at(documents: list[Document], file: str, line: int) -> tuple[str, str]:
    """(kind, name) of the object whose YAML document holds ``file:line``."""
    holder = None
    for doc in documents:
        if doc.file == file and doc.first_line <= line:
            holder = doc
    assert holder is not None, f"{file}:{line} is in no document"
    return holder.obj["kind"], holder.obj["metadata"]["name"]


def lint_example(example: str) -> list:
    documents: list[Document] = []
    for name, text in example_files(example):
        for loaded in load_text(text, name):
            assert isinstance(loaded, Document), f"example does not load: {loaded}"
            documents.append(loaded)
    findings, _ = lint_documents(documents, platform=EXAMPLE_PLATFORM)
    return findings


def _cases(kind: str) -> list:
    return [pytest.param(r, i, id=f"{r.code}-{kind}{i}") for r in RULES for i in range(len(getattr(r, kind)))]


def test_every_rule_has_examples_and_docs() -> None:
    for r in RULES:
        assert r.bad and r.good, f"{r.code} needs good and bad examples"
        assert r.summary and r.rationale and r.fix and r.links, r.code
        assert all(link.startswith("https://") for link in r.links), r.code
        assert r.slug == r.slug.lower() and " " not in r.slug, r.code


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_example_contexts_lint_clean(name: str) -> None:
    assert lint_example(f"# context: {name}\n") == []


@pytest.mark.parametrize(("rule", "index"), _cases("bad"))
def test_bad_example_fires_exactly_this_rule(rule: Rule, index: int) -> None:
    example = rule.bad[index]
    findings = lint_example(example)
    assert {f.code for f in findings} == {rule.code}, [f"{f.code} {f.line} {f.message}" for f in findings]
    assert {(f.file, f.line) for f in findings} == expected_lines(example), [
        f"{f.file}:{f.line} {f.message}" for f in findings
    ]
    documents = example_documents(example)
    for f in findings:  # the finding names the object it is located in
        assert (f.kind, f.name) == object_at(documents, f.file, f.line), f"{f.file}:{f.line} {f.message}"


@pytest.mark.parametrize(("rule", "index"), _cases("good"))
def test_good_example_fires_nothing(rule: Rule, index: int) -> None:
    findings = lint_example(rule.good[index])
    assert findings == [], [f"{f.code} {f.file}:{f.line} {f.message}" for f in findings]
