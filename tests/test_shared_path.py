"""gateway.sharedPath: several models on one path, told apart by the Body-Based Router's model header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infergate.lint import lint_paths
from infergate.lint.config import LintConfig
from infergate.validate import validate_paths
from tests.conftest import FIXTURE_ENVS, REPO, make_project, run_infergate

PATTERN1 = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")
SHARED = REPO / "tests" / "golden" / "envs" / "shared.yaml"


def _docs(folder: Path) -> dict[str, dict[str, Any]]:
    return {f"{p.parent.name}/{p.name}": yaml.safe_load(p.read_text())
            for p in sorted(folder.rglob("*.yaml"))}


def test_each_model_route_matches_its_names_on_the_shared_path(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_project(root, {"shared": SHARED.read_text(encoding="utf-8")})
    result = run_infergate("synth", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    docs = _docs(root / "dist" / "shared")
    qwen = docs["model-qwen-7b/HTTPRoute.qwen-7b-route.yaml"]["spec"]["rules"][1]
    assert [(m["path"]["value"], m["headers"]) for m in qwen["matches"]] == [
        ("/v1", [{"type": "Exact", "name": "X-Gateway-Model-Name", "value": name}])
        for name in ("Qwen/Qwen2.5-7B-Instruct", "qwen")]
    assert qwen["backendRefs"][0]["name"] == "qwen-7b-inference-pool" and "filters" not in qwen
    phi = docs["model-phi-mini/HTTPRoute.phi-mini-route.yaml"]["spec"]["rules"][1]
    assert [m["headers"][0]["value"] for m in phi["matches"]] == ["microsoft/Phi-3-mini-4k-instruct"]
    # the router, its Istio hook and exactly gateway -> router on gRPC
    envoy = docs["gateway/EnvoyFilter.shared-gw-bbr.yaml"]["spec"]
    assert envoy["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "name": "shared-gw"}]
    grpc = envoy["configPatches"][0]["patch"]["value"]["typed_config"]["grpc_service"]["envoy_grpc"]
    assert grpc["cluster_name"] == "outbound|9004||shared-gw-bbr.shared-edge.svc.cluster.local"
    pod = docs["gateway/Deployment.shared-gw-bbr.yaml"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"].endswith("/bbr:v1.5.0")
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    ingress = docs["networkpolicies-shared-edge/NetworkPolicy.shared-gw-bbr-ingress.yaml"]["spec"]["ingress"]
    assert ingress == [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "shared-edge"}}, "podSelector": {"matchLabels": {
            "gateway.networking.k8s.io/gateway-name": "shared-gw"}}}], "ports": [{"port": 9004,
                                                                                  "protocol": "TCP"}]}]
    flows = run_infergate("flows", str(root / "dist" / "shared"), cwd=root).stdout
    assert any(line.split()[:4] == ["gateway", "bbr", "TCP/9004", "allowed"] for line in flows.splitlines())
    assert not any(line.split()[1:4] == ["bbr", "TCP/9004", "allowed"] for line in flows.splitlines()
                   if line.split() and line.split()[0] not in ("gateway",)), flows
    findings, _ = validate_paths([root / "dist" / "shared"])
    assert findings == []
    lint, _ = lint_paths([root / "dist" / "shared"], config=LintConfig())
    assert [f"{f.code} {f.message}" for f in lint] == []


def test_shared_path_on_a_profile_without_the_router_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    env = PATTERN1.replace("  http: redirect", "  sharedPath: /v1\n  http: redirect", 1)
    assert env != PATTERN1
    make_project(tmp_path / "p", {"odh": env})
    result = run_infergate("synth", cwd=tmp_path / "p")
    out = result.stdout + result.stderr
    line = next(i for i, text in enumerate(env.splitlines(), 1) if "sharedPath" in text)
    assert result.returncode == 2 and len(out.strip().splitlines()) == 1, out
    assert f"odh.yaml:{line}: gateway.sharedPath: profile odh-v0.15 has no Body-Based Router" in out
    assert "upstream-2026" in out


def _models_edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_a_managed_model_or_one_whose_prefix_is_the_shared_path_is_a_config_error(tmp_path: Path) -> None:
    shared = SHARED.read_text(encoding="utf-8")
    managed = _models_edit(shared, "    topology: 1x1\n", "    topology: 1x1\n    router: managed\n")
    prefix = _models_edit(shared, "    aliases: [qwen]\n", "    aliases: [qwen]\n    pathPrefix: /v1/\n")
    for name, env, key, says in (("managed", managed, "models[1].router", "needs router: explicit"),
                                 ("prefix", prefix, "models[0].pathPrefix", "/v1 is gateway.sharedPath")):
        make_project(tmp_path / name, {name: env})
        result = run_infergate("synth", cwd=tmp_path / name)
        out = result.stdout + result.stderr
        assert result.returncode == 2 and f": {key}: " in out and says in out, out
