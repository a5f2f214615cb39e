"""Every Argo CD Lua health check, executed on Lua 5.1 (Argo CD's gopher-lua dialect) via lupa,
against Healthy, Progressing and Degraded status samples; plus the argocd-cm the construct emits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from infergate.charts.health_checks import HEALTH_CHECKS, HEALTH_DIR, health_customizations, health_key
from lupa import lua51


def run_health(script: str, obj: dict[str, Any]) -> dict[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    return {"status": result["status"], "message": result["message"]}


def cond(type_: str, status: str, reason: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message, **extra}


def llmisvc(conditions: list[dict[str, Any]] | None, generation: int = 1, observed: int = 1) -> dict:
    obj: dict[str, Any] = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService",
                           "metadata": {"name": "qwen2-3b-pattern1", "generation": generation}}
    if conditions is not None:
        obj["status"] = {"observedGeneration": observed, "conditions": conditions}
    return obj


LLMISVC_SUB = ["WorkloadsReady", "RouterReady", "InferencePoolReady", "HTTPRoutesReady", "GatewaysReady",
               "SchedulerWorkloadReady", "MainWorkloadReady", "PresetsCombined"]

LLMISVC_CASES = [
    ("no status yet", llmisvc(None), "Progressing", "Waiting"),
    ("all ready", llmisvc([cond(t, "True") for t in [*LLMISVC_SUB, "Ready"]]), "Healthy", "ready"),
    ("old generation observed", llmisvc([cond("Ready", "True")], generation=3, observed=2), "Progressing",
     "generation 3"),
    ("workload still rolling out",
     llmisvc([cond("MainWorkloadReady", "Unknown", "Deploying"), cond("Ready", "Unknown", "Deploying")]),
     "Progressing", "Deploying"),
    ("main workload failed",
     llmisvc([cond("MainWorkloadReady", "False", "CrashLoopBackOff", "vllm exited 1"),
              cond("Ready", "False", "CrashLoopBackOff")]),
     "Degraded", "MainWorkloadReady (CrashLoopBackOff)"),
    ("warning-severity condition does not degrade",
     llmisvc([cond("PresetsCombined", "False", "Deprecated", severity="Warning"), cond("Ready", "True")]),
     "Healthy", "ready"),
    ("sub-condition failed before Ready is reported",
     llmisvc([cond("InferencePoolReady", "False", "NotAccepted", "gateway rejected the pool")]),
     "Degraded", "InferencePoolReady"),
]


def pool(version: str, parents: list[dict[str, Any]] | None) -> dict[str, Any]:
    group, field = (("inference.networking.k8s.io", "parents") if version == "v1"
                    else ("inference.networking.x-k8s.io", "parent"))
    obj: dict[str, Any] = {"apiVersion": f"{group}/{version}", "kind": "InferencePool",
                           "metadata": {"name": "qwen2-3b-pattern1-inference-pool"}}
    if parents is not None:
        obj["status"] = {field: parents}
    return obj


def parent(name: str, *conditions: dict[str, Any], kind: str = "Gateway") -> dict[str, Any]:
    return {"parentRef": {"group": "gateway.networking.k8s.io", "kind": kind, "name": name},
            "conditions": list(conditions)}


POOL_CASES = [
    ("no status", "Progressing", None, "Waiting"),
    ("placeholder parent only", "Progressing",
     [parent("default", cond("Accepted", "Unknown", "Pending"), kind="Status")], "Waiting"),
    ("accepted, refs resolved", "Healthy",
     [parent("inference-gateway", cond("Accepted", "True", "Accepted"), cond("ResolvedRefs", "True"))],
     "Accepted by 1"),
    ("accepted, refs pending", "Progressing",
     [parent("inference-gateway", cond("Accepted", "True"), cond("ResolvedRefs", "Unknown", "Pending"))],
     "ResolvedRefs=Unknown"),
    ("not accepted", "Degraded",
     [parent("inference-gateway", cond("Accepted", "False", "NotSupportedByGateway",
                                       "InferencePool is not enabled"))],
     "inference-gateway: Accepted=False (NotSupportedByGateway)"),
    ("endpoint picker missing", "Degraded",
     [parent("inference-gateway", cond("Accepted", "True"),
             cond("ResolvedRefs", "False", "InvalidExtensionRef", "service epp not found"))],
     "ResolvedRefs=False"),
    ("one of two gateways failing", "Degraded",
     [parent("a", cond("Accepted", "True"), cond("ResolvedRefs", "True")),
      parent("b", cond("Accepted", "False", "NotAllowed"))], "b: Accepted=False"),
]


def istio(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "sailoperator.io/v1", "kind": "Istio",
                           "metadata": {"name": "default", "generation": generation}}
    if status is not None:
        obj["status"] = {"observedGeneration": 1, **status}
    return obj


ISTIO_CASES = [
    ("no status", istio(None), "Progressing", "Waiting"),
    ("healthy", istio({"state": "Healthy", "activeRevisionName": "default",
                       "conditions": [cond("Reconciled", "True", "Reconciled"),
                                      cond("Ready", "True", "Healthy")]}), "Healthy", "revision default"),
    ("istiod rolling out", istio({"state": "IstiodNotReady",
                                  "conditions": [cond("Reconciled", "True"),
                                                 cond("Ready", "False", "IstiodNotReady", "not ready")]}),
     "Progressing", "IstiodNotReady"),
    ("new generation not observed", istio({"state": "Healthy", "conditions": [cond("Ready", "True")]},
                                          generation=2), "Progressing", "generation 2"),
    ("reconcile error", istio({"state": "ReconcileError",
                               "conditions": [cond("Reconciled", "False", "ReconcileError", "no version"),
                                              cond("Ready", "Unknown", "ReconcileError")]}),
     "Degraded", "Reconciled=False (ReconcileError): no version"),
    ("readiness check failed", istio({"state": "ReadinessCheckFailed",
                                      "conditions": [cond("Reconciled", "True"),
                                                     cond("Ready", "Unknown", "ReadinessCheckFailed")]}),
     "Degraded", "ReadinessCheckFailed"),
]


def script(name: str) -> str:
    return (HEALTH_DIR / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("case", "obj", "status", "message"), LLMISVC_CASES,
                         ids=[c[0] for c in LLMISVC_CASES])
def test_llminferenceservice_health(case: str, obj: dict, status: str, message: str) -> None:
    result = run_health(script("llminferenceservice.lua"), obj)
    assert result["status"] == status, result
    assert message in result["message"]


@pytest.mark.parametrize("version", ["v1", "v1alpha2"])
@pytest.mark.parametrize(("case", "status", "parents", "message"), POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_inferencepool_health(version: str, case: str, status: str, parents: list | None,
                              message: str) -> None:
    result = run_health(script("inferencepool.lua"), pool(version, parents))
    assert result["status"] == status, result
    assert message in result["message"]


@pytest.mark.parametrize(("case", "obj", "status", "message"), ISTIO_CASES, ids=[c[0] for c in ISTIO_CASES])
def test_istio_health(case: str, obj: dict, status: str, message: str) -> None:
    result = run_health(script("istio.lua"), obj)
    assert result["status"] == status, result
    assert message in result["message"]


def test_every_script_covers_healthy_progressing_and_degraded() -> None:
    covered = {"llminferenceservice.lua": {c[2] for c in LLMISVC_CASES},
               "inferencepool.lua": {c[1] for c in POOL_CASES},
               "istio.lua": {c[2] for c in ISTIO_CASES}}
    assert set(HEALTH_CHECKS.values()) == set(covered)
    for name, statuses in covered.items():
        assert statuses == {"Healthy", "Progressing", "Degraded"}, name


def test_customization_keys_follow_argocd_format_and_are_valid_configmap_keys() -> None:
    data = health_customizations()
    assert set(data) == {
        "resource.customizations.health.serving.kserve.io_LLMInferenceService",
        "resource.customizations.health.inference.networking.k8s.io_InferencePool",
        "resource.customizations.health.inference.networking.x-k8s.io_InferencePool",
        "resource.customizations.health.sailoperator.io_Istio",
    }
    for key in data:
        assert re.fullmatch(r"[-._a-zA-Z0-9]+", key) and len(key) <= 253
    assert health_key("sailoperator.io", "Istio") in data


def test_construct_emits_argocd_cm_with_every_script() -> None:
    from infergate.synth.node import prefer_pinned_node

    prefer_pinned_node()  # before cdk8s starts jsii's Node
    import cdk8s
    from infergate.charts.argocd_health import ArgoHealthCustomizations

    app = cdk8s.App()
    chart = cdk8s.Chart(app, "argocd", disable_resource_name_hashes=True)
    ArgoHealthCustomizations(chart, "health", extra_data={"kustomize.buildOptions": "--enable-helm"})
    (config_map,) = chart.to_json()
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["name"] == "argocd-cm" and config_map["metadata"]["namespace"] == "argocd"
    assert config_map["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    data = config_map["data"]
    assert data["kustomize.buildOptions"] == "--enable-helm"
    for (group, kind), name in HEALTH_CHECKS.items():
        assert data[health_key(group, kind)] == script(name)
    assert list(data) == sorted(data)


def test_committed_argocd_cm_carries_every_health_check() -> None:
    import yaml

    from tests.conftest import example_dist_roots

    files = [path for root in example_dist_roots() for path in sorted(root.rglob("ConfigMap.argocd-cm.yaml"))]
    config_maps = [doc for path in files for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert config_maps, "no argocd-cm in dist/: the Argo CD chart must instantiate ArgoHealthCustomizations"
    for config_map in config_maps:
        for key, lua in health_customizations().items():
            assert config_map["data"].get(key) == lua, key


# Argo CD marks a resource whose health script raises a Lua error as Unknown with the error text:
# the scripts must return a verdict for any shape the API server could hand them, however partial.
# A condition always carries `type` and `status` (required by the CRD schemas of LLMInferenceService
# and InferencePool; non-omitempty fields of sail-operator's Go type), possibly empty.
def _condition_strategy():
    from hypothesis import strategies as st

    text = st.sampled_from(["", "Ready", "Accepted", "ResolvedRefs", "Reconciled", "MainWorkloadReady",
                            "True", "False", "Unknown", "Warning", "Error", "Healthy", "ReconcileError"])
    return st.fixed_dictionaries({"type": text, "status": text},
                                 optional={"reason": text, "message": text, "severity": text})


def _object_strategy(kind: str):
    from hypothesis import strategies as st

    conditions = st.lists(_condition_strategy(), max_size=4)
    parent = st.fixed_dictionaries({}, optional={
        "parentRef": st.fixed_dictionaries({}, optional={"name": st.just("gw"),
                                                         "kind": st.sampled_from(["Gateway", "Status"])}),
        "conditions": conditions})
    status = st.fixed_dictionaries({}, optional={
        "conditions": conditions, "observedGeneration": st.integers(0, 3),
        "state": st.sampled_from(["Healthy", "ReconcileError", "IstiodNotReady", ""]),
        "activeRevisionName": st.just("default"),
        "parents": st.lists(parent, max_size=3), "parent": st.lists(parent, max_size=3)})
    return st.fixed_dictionaries({"kind": st.just(kind)}, optional={
        "metadata": st.fixed_dictionaries({}, optional={"generation": st.integers(1, 3)}),
        "status": status})


@pytest.mark.parametrize(("name", "kind"), [("llminferenceservice.lua", "LLMInferenceService"),
                                            ("inferencepool.lua", "InferencePool"), ("istio.lua", "Istio")])
def test_health_scripts_never_raise_on_partial_objects(name: str, kind: str) -> None:
    from hypothesis import HealthCheck, given, settings

    lua_source = script(name)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_object_strategy(kind))
    def check(obj: dict) -> None:
        result = run_health(lua_source, obj)
        assert result["status"] in {"Healthy", "Progressing", "Degraded"}
        assert isinstance(result["message"], str)

    check()
