"""`infergate schemas export` is read by kubeconform through its -schema-location template.

kubeconform comes only from the Go module proxy: the test builds it (pinned, cached under the infergate
cache: later runs take no time) where a Go toolchain is available, and skips with the reason otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_infergate

sys.path.insert(0, str(REPO / "bench"))
from oracle import go_tool

FIXTURES = REPO / "tests" / "fixtures" / "validate"


@pytest.fixture(scope="module")
def kubeconform() -> Path:
    binary, reason = go_tool("kubeconform")
    if binary is None:
        pytest.skip(f"kubeconform unavailable: {reason}")
    return binary


def test_kubeconform_reads_the_exported_layout(kubeconform: Path, tmp_path: Path) -> None:
    result = run_infergate("schemas", "export", str(tmp_path))
    assert result.returncode == 0, result.stderr
    template = str(tmp_path) + "/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
    files = [FIXTURES / "valid" / "seed-llmisvc.yaml", FIXTURES / "valid" / "gateway-stack.yaml",
             FIXTURES / "valid" / "seed-httproute.yaml", FIXTURES / "invalid" / "port-out-of-range.yaml",
             FIXTURES / "invalid" / "unknown-field-cr.yaml", FIXTURES / "invalid" / "enum-cr.yaml"]
    command = [str(kubeconform), "-strict", "-verbose", "-output", "json", "-schema-location", template,
               *map(str, files)]
    run = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    resources = json.loads(run.stdout)["resources"]
    verdicts = {(Path(r["filename"]).name, r["kind"], r["name"]): r["status"] for r in resources}
    assert verdicts == {
        ("seed-llmisvc.yaml", "LLMInferenceService", "qwen2-3b-pattern1"): "statusValid",
        ("gateway-stack.yaml", "Gateway", "inference-gateway"): "statusValid",
        ("gateway-stack.yaml", "InferencePool", "qwen2-3b-pattern1-inference-pool"): "statusValid",
        ("gateway-stack.yaml", "Certificate", "inference-gateway-tls"): "statusValid",
        ("gateway-stack.yaml", "Istio", "default"): "statusValid",
        ("seed-httproute.yaml", "HTTPRoute", "llm-d-pattern1-inference-scheduling"): "statusValid",
        ("port-out-of-range.yaml", "InferencePool", "pool"): "statusInvalid",
        ("unknown-field-cr.yaml", "LLMInferenceService", "qwen"): "statusInvalid",
        ("enum-cr.yaml", "InferencePool", "pool"): "statusInvalid",
        ("enum-cr.yaml", "Istio", "default"): "statusInvalid",
    }
