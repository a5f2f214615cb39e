"""docs/architecture.md is generated from the code and dist/; this keeps it current and well-formed."""

from __future__ import annotations

import re

from infergate.devtools.archdoc import REGENERATE, chart_calls, render, sync_waves
from tests.conftest import REPO, requires_examples

# the picture is drawn from examples/pattern1 (the reference deployment)
pytestmark = requires_examples


def test_architecture_md_is_current() -> None:
    current = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert current == render(), f"docs/architecture.md is stale: run `{REGENERATE}`"


def test_mermaid_blocks_are_balanced_and_ids_are_safe() -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", render(), flags=re.S)
    assert len(blocks) == 3
    for block in blocks:
        lines = block.strip().splitlines()
        assert lines[0].startswith("flowchart ")
        opened = sum(1 for line in lines if line.strip().startswith("subgraph "))
        closed = sum(1 for line in lines if line.strip() == "end")
        assert opened == closed
        for line in lines[1:]:
            node = re.match(r"\s*(?:subgraph )?([A-Za-z0-9_]+)\[", line)
            if node:
                assert node.group(1) != "end"


def test_picture_follows_the_code() -> None:
    charts = [name for name, _ in chart_calls("add_environment")]
    assert "NamespacesChart" in charts and "ArgoCdChart" in charts
    conditions = dict(chart_calls("add_environment"))
    assert conditions["ModelChart"].startswith("for ")  # one chart per model
    waves = sync_waves(REPO / "examples" / "pattern1" / "dist" / "pattern1" / "argocd")
    assert list(waves) == sorted(waves) and sum(len(v) for v in waves.values()) >= 3
