"""Argo CD custom health checks (Lua) for the CRDs Argo CD does not know: sync waves gated on
LLMInferenceService, InferencePool or sail-operator Istio then wait for real readiness.

Argo CD reads them from the `argocd-cm` ConfigMap under `resource.customizations.health.<group>_<Kind>`.
"""

from __future__ import annotations

from pathlib import Path

from cdk8s_plus_33 import k8s
from constructs import Construct

HEALTH_DIR = Path(__file__).resolve().parent / "data" / "health"

# (API group, kind) -> Lua script under charts/data/health/
HEALTH_CHECKS: dict[tuple[str, str], str] = {
    ("serving.kserve.io", "LLMInferenceService"): "llminferenceservice.lua",
    ("inference.networking.k8s.io", "InferencePool"): "inferencepool.lua",
    ("inference.networking.x-k8s.io", "InferencePool"): "inferencepool.lua",
    ("sailoperator.io", "Istio"): "istio.lua",
}


def health_key(group: str, kind: str) -> str:
    return f"resource.customizations.health.{group}_{kind}"


def health_customizations() -> dict[str, str]:
    """The argocd-cm data entries, sorted so the output is deterministic."""
    return {health_key(group, kind): (HEALTH_DIR / script).read_text(encoding="utf-8")
            for (group, kind), script in sorted(HEALTH_CHECKS.items())}


class ArgoHealthCustomizations(Construct):
    """The `argocd-cm` ConfigMap carrying infergate's health checks (plus any ``extra_data``)."""

    def __init__(self, scope: Construct, id_: str, namespace: str = "argocd",
                 extra_data: dict[str, str] | None = None) -> None:
        super().__init__(scope, id_)
        data = {**(extra_data or {}), **health_customizations()}
        self.config_map = k8s.KubeConfigMap(
            self, "argocd-cm",
            metadata=k8s.ObjectMeta(
                name="argocd-cm", namespace=namespace,
                labels={"app.kubernetes.io/name": "argocd-cm", "app.kubernetes.io/part-of": "argocd"}),
            data=dict(sorted(data.items())))
