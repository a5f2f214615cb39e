"""Which Argo CD Lua health check covers which (API group, kind): plain data, importable without
cdk8s/jsii (docs and tests read it without starting Node)."""

from __future__ import annotations

from pathlib import Path

HEALTH_DIR = Path(__file__).resolve().parent / "data" / "health"

# (API group, kind) -> Lua script under charts/data/health/
HEALTH_CHECKS: dict[tuple[str, str], str] = {
    ("serving.kserve.io", "LLMInferenceService"): "llminferenceservice.lua",
    ("inference.networking.k8s.io", "InferencePool"): "inferencepool.lua",
    ("inference.networking.x-k8s.io", "InferencePool"): "inferencepool.lua",
    ("sailoperator.io", "Istio"): "istio.lua",
}


def health_key(group: str, kind: str) -> str:
    """The argocd-cm key Argo CD reads a custom health check from."""
    return f"resource.customizations.health.{group}_{kind}"


def health_customizations() -> dict[str, str]:
    """The argocd-cm data entries, sorted so the output is deterministic."""
    return {health_key(group, kind): (HEALTH_DIR / script).read_text(encoding="utf-8")
            for (group, kind), script in sorted(HEALTH_CHECKS.items())}
