"""Rule fixes found by reviewing the wild corpus (tests/wild): each test fails on the rule as it was."""

from __future__ import annotations

from pathlib import Path

from infergate.core.loader import load_paths
from infergate.lint import lint_documents
from infergate.lint.platform import platform_from


def _lint(tmp_path: Path, text: str, select: str) -> list:
    (tmp_path / "objects.yaml").write_text(text)
    docs, problems = load_paths([tmp_path])
    assert not problems
    findings, _ = lint_documents(docs, platform=platform_from({}, "test"), select=[select])
    return findings


SCHEDULER_WITHOUT_ROUTE = """\
apiVersion: serving.kserve.io/v1alpha2
kind: LLMInferenceService
metadata: {name: gpt-oss, namespace: demo}
spec:
  model: {uri: "hf://openai/gpt-oss-20b", name: openai/gpt-oss-20b}
  router:
    scheduler: {}
    gateway: {}
"""


def test_scheduler_without_route_is_valid(tmp_path: Path) -> None:
    """KServe's reconcileRouter creates the EPP and pool without router.route and only skips the managed
    HTTPRoute (KServe's gpt-oss sample routes to the pool with its own AIGatewayRoute)."""
    assert _lint(tmp_path, SCHEDULER_WITHOUT_ROUTE, "INF307") == []


APP_WITH_OPEN_METRICS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: argocd-repo-server, namespace: argocd}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      containers:
      - {name: repo, image: "quay.io/argoproj/argocd:v3.5.1", ports: [{containerPort: 8084}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: repo-server, namespace: argocd}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  policyTypes: [Ingress]
  ingress:
  - from: [{namespaceSelector: {}}]
    ports: [{port: 8084}]
"""


def test_np102_leaves_other_workloads_to_their_owner(tmp_path: Path) -> None:
    """Every-pod peers on a non-inference workload (Argo CD's metrics port) are its owner's design."""
    assert _lint(tmp_path, APP_WITH_OPEN_METRICS, "NP102") == []
    # the same peer on a model server is still the reference deployment's "kubelet" mistake
    vllm = APP_WITH_OPEN_METRICS.replace("quay.io/argoproj/argocd:v3.5.1", "vllm/vllm-openai:v0.10.0")
    vllm = vllm.replace("name: repo,", "name: vllm, args: [--port, '8084'],")
    assert [f.code for f in _lint(tmp_path, vllm, "NP102")] == ["NP102"]


def test_np101_names_each_direction_for_its_own_pods(tmp_path: Path) -> None:
    """A pod isolated for Ingress only is named for Egress, not for both directions."""
    findings = _lint(tmp_path, APP_WITH_OPEN_METRICS, "NP101")
    assert len(findings) == 1
    message = findings[0].message
    assert "any other pod for Ingress; any other pod, argocd-repo-server for Egress:" in message
