"""Golden matrices of dist/pattern1 and dist/pattern3, and the security model verdict on them.

After an intended change of the charts' NetworkPolicies, regenerate with
``INFERGATE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_flows_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from infergate.netpol.command import cluster_from_path, run_flows
from infergate.netpol.flows import violations
from infergate.netpol.security_model import security_model
from infergate.project.discovery import require_project
from infergate.synth.run import synthesize
from tests.conftest import FIXTURE_ENVS, REPO, example_env_dirs, make_project, requires_examples

GOLDEN = REPO / "tests" / "golden" / "flows"
ENV_DIRS = example_env_dirs()
PATTERNS = [p for p in ("pattern1", "pattern3") if p in ENV_DIRS]
MULTIHOST_ENV = (FIXTURE_ENVS / "multihost" / "multihost.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("env", PATTERNS)
@pytest.mark.parametrize(("fmt", "suffix"), [("table", "txt"), ("mermaid", "mmd")])
def test_matrix_matches_golden(env: str, fmt: str, suffix: str) -> None:
    output = run_flows(ENV_DIRS[env], fmt)
    golden = GOLDEN / f"{env}.{suffix}"
    if os.environ.get("INFERGATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("env", PATTERNS)
def test_dist_satisfies_the_security_model(env: str) -> None:
    cluster = cluster_from_path(ENV_DIRS[env])
    assert [v.describe() for v in violations(cluster, security_model())] == []


@pytest.mark.parametrize("env", PATTERNS)
def test_dist_matrix_key_cells(env: str) -> None:
    """The flows the security model is about, read from the JSON output (independent of the golden)."""
    cells = {(c["from"], c["to"], c["protocol"], c["port"]): c["status"]
             for c in json.loads(run_flows(ENV_DIRS[env], "json"))["flows"]}
    assert cells[("gateway", "model-server", "TCP", 8000)] == "allowed"
    assert cells[("gateway", "epp", "TCP", 9002)] == "allowed"
    assert cells[("epp", "model-server", "TCP", 8000)] in ("allowed", "partial")  # own model servers only
    assert cells[("epp", "api-server", "TCP", 443)] == "allowed"
    assert cells[("model-server", "internet", "TCP", 443)] == "allowed"
    for src in ("any-pod", "model-server", "internet", "dns"):
        assert cells[(src, "model-server", "TCP", 8000)] == "denied", src
        assert cells[(src, "epp", "TCP", 9002)] == "denied", src
    # the smoke-test hook: the gateway's HTTPS listener and DNS, never vLLM or the picker directly
    assert cells[("smoke", "gateway", "TCP", 443)] == "allowed"
    assert cells[("smoke", "gateway", "TCP", 80)] == "denied"
    assert cells[("smoke", "model-server", "TCP", 8000)] == "denied"
    assert cells[("smoke", "epp", "TCP", 9002)] == "denied"
    for role in ("epp", "model-server", "smoke"):
        assert cells[(role, "dns", "UDP", 53)] == "allowed"
        assert cells[(role, "dns", "TCP", 53)] == "allowed"


@requires_examples
def test_readme_diagram_is_current() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## NetworkPolicy reachability", 1)[1]
    block = section.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == run_flows(ENV_DIRS["pattern1"], "mermaid"), \
        "regenerate: infergate flows examples/pattern1/dist/pattern1 --format mermaid " \
        "(README, NetworkPolicy reachability)"



# The multi-host fixture (a v6e 4x4 slice: leader + workers of one LeaderWorkerSet, beside a single-host
# model), synthesized into a project of its own so the flows see its environment's platform facts.
@pytest.fixture(scope="module")
def multihost_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("multihost") / "proj", {"multihost": MULTIHOST_ENV})
    synthesize(require_project(root), None, root / "dist")
    return root / "dist" / "multihost"


@pytest.mark.parametrize(("fmt", "suffix"), [("table", "txt"), ("mermaid", "mmd")])
def test_multihost_matrix_matches_golden(multihost_dist: Path, fmt: str, suffix: str) -> None:
    output = run_flows(multihost_dist, fmt)
    golden = GOLDEN / f"multihost.{suffix}"
    if os.environ.get("INFERGATE_UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    assert output == golden.read_text(encoding="utf-8")


def test_multihost_dist_satisfies_the_security_model(multihost_dist: Path) -> None:
    cluster = cluster_from_path(multihost_dist)
    assert [v.describe() for v in violations(cluster, security_model())] == []
