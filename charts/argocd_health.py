"""Argo CD custom health checks (Lua) for the CRDs Argo CD does not know: sync waves gated on
LLMInferenceService, InferencePool or sail-operator Istio then wait for real readiness.

Argo CD reads them from the `argocd-cm` ConfigMap under `resource.customizations.health.<group>_<Kind>`.
"""

from __future__ import annotations

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.health_checks import HEALTH_CHECKS, HEALTH_DIR, health_customizations, health_key

__all__ = ["HEALTH_CHECKS", "HEALTH_DIR", "ArgoHealthCustomizations", "health_customizations", "health_key"]


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
