"""`infergate flows PATH [--format table|json|mermaid]` as a user runs it."""

from __future__ import annotations

import json

from tests.conftest import REPO, run_infergate

SEED = REPO / "tests" / "fixtures" / "netpol" / "seed-pattern1"


def test_table_shows_cells_and_the_deciding_policies() -> None:
    result = run_infergate("flows", str(SEED))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FROM", "TO", "PORT", "STATUS", "PAIRS", "BY"]
    gateway_epp = next(line for line in lines if line.split()[:3] == ["gateway", "epp", "TCP/9002"])
    assert "denied" in gateway_epp and "default-deny-all" in gateway_epp
    any_vllm = next(line for line in lines if line.split()[:3] == ["any-pod", "model-server", "TCP/8000"])
    # the "kubelet" peer admits every pod whose own egress is open (3 of the 4 probe namespaces)
    assert " partial " in any_vllm and "allow-gateway-to-vllm ingress[1]" in any_vllm
    assert "violation(s)" in result.stdout and "forbidden: forbidden flow model-server-port-from-others" \
        in result.stdout


def test_json_is_one_document() -> None:
    result = run_infergate("flows", str(SEED), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"endpoints", "flows", "violations", "unchecked"}
    assert doc["unchecked"] == ["epp-to-api-server: no api-server known (platform facts, output)",
                                "gateway-to-istiod: no istiod known (platform facts, output)"]
    roles = {e["role"] for e in doc["endpoints"]}
    assert {"gateway", "epp", "model-server", "dns", "internet", "any-pod"} <= roles
    cell = next(c for c in doc["flows"]
                if (c["from"], c["to"], c["port"]) == ("gateway", "model-server", 8000))
    assert cell["status"] == "allowed" and "allow-gateway-to-vllm ingress[0]" in cell["why"]
    assert {v["id"] for v in doc["violations"]} >= {"gateway-to-epp-grpc", "model-server-port-from-others"}


def test_mermaid_draws_allowed_partial_and_missing_flows() -> None:
    result = run_infergate("flows", str(SEED), "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("flowchart LR\n")
    assert 'gateway -->|"TCP/8000"| model_server' in out
    assert 'gateway --x|"TCP/9002 DENIED"| epp' in out
    assert "any_pod -.->" in out


def test_bad_input_is_one_line_and_exit_2(tmp_path) -> None:
    bad = tmp_path / "np.yaml"
    bad.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                   "metadata: {name: x, namespace: a}\nspec:\n  podSelector:\n    matchExpressions:\n"
                   "    - {key: a, operator: Equals, values: [b]}\n")
    result = run_infergate("flows", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{bad}:7" in result.stderr and "unknown operator 'Equals'" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [\n")
    result = run_infergate("flows", str(broken))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = run_infergate("flows", str(tmp_path / "missing"))
    assert result.returncode == 2 and "no such file" in result.stderr
