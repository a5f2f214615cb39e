"""Model autoscaling (`models[].autoscaling`) as KServe v0.20 serves it: `LLMInferenceService.spec.scaling`.

What KServe v0.20 really does with `spec.scaling` (pkg/controller/v1alpha2/llmisvc/scaling.go, tag v0.20.0):
the controller creates a `VariantAutoscaling` for llm-d's Workload Variant Autoscaler (WVA) and one
actuator: an HPA on the external metric `wva_desired_replicas` (needs a Prometheus Adapter) or a KEDA
ScaledObject whose `prometheus` trigger queries that metric at the server named by the
`autoscaling-wva-controller-config` key of KServe's `inferenceservice-config` ConfigMap. Either actuator only
copies WVA's decision (target 1): WVA decides, from vLLM's own metrics read through Prometheus, always both
of them:

* queue depth: `vllm:num_requests_waiting`,
* KV-cache utilization: `vllm:kv_cache_usage_perc` (vLLM renamed `vllm:gpu_cache_usage_perc` in
  vllm-project/vllm#18354; WVA queries the new name only, so older vLLM images give it no KV signal).

So a model chooses bounds and the actuator, not the metric: WVA's saturation thresholds
(`kvCacheThreshold`, `queueLengthThreshold`) live in WVA's own ConfigMap, per model id and namespace.
KServe creates no scrape configuration for vLLM; lint rule SCL803 asks for one (policies/scaling.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infergate.core.errors import ConfigError
from infergate.synth import profiles
from infergate.synth.profiles import Profile

# The vLLM series WVA's saturation analyzer reads (llm-d-workload-variant-autoscaler
# internal/collector/registration/saturation.go), keyed by the names the README uses.
METRICS = {"queueDepth": "vllm:num_requests_waiting", "kvCacheUtilization": "vllm:kv_cache_usage_perc"}
ACTUATORS = ("keda", "hpa")
DEFAULT_VARIANT_COST = "10.0"  # the CRD default; emitted so dist/ says what WVA is told
# KEDA fields KServe v0.20 copies from spec.scaling.wva.keda into the ScaledObject (camelCase as in the CRD).
KEDA_FIELDS = ("pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount")

# KServe copies this label of spec.labels onto the VariantAutoscaling (else "unknown"); WVA groups a model's
# variants by accelerator with it (internal/utils/variant.go). spec.labels also land on the pods.
ACCELERATOR_LABEL = "inference.optimization/acceleratorName"

Fail = Callable[[list[str | int], str], ConfigError]


@dataclass(frozen=True, slots=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    via: str  # keda | hpa: the actuator KServe creates
    variant_cost: str = DEFAULT_VARIANT_COST
    keda: tuple[tuple[str, int], ...] = ()  # KEDA_FIELDS that were set, in that order

    def spec(self) -> dict[str, Any]:
        """`spec.scaling` of the LLMInferenceService (v1alpha2 ScalingSpec)."""
        actuator: dict[str, Any] = dict(self.keda) if self.via == "keda" else {}
        return {"minReplicas": self.min_replicas, "maxReplicas": self.max_replicas,
                "wva": {"variantCost": self.variant_cost, self.via: actuator}}


def workload_labels(accelerator: str) -> dict[str, str]:
    """`spec.labels` of an autoscaled LLMInferenceService: the accelerator WVA attributes it to."""
    return {ACCELERATOR_LABEL: accelerator}


def supporting_profiles() -> list[str]:
    return [p.name for p in profiles.profiles().values() if p.kserve.scaling]


def parse(raw: dict[str, Any], here: list[str | int], profile: Profile, fail: Fail) -> Autoscaling | None:
    """``models[i].autoscaling`` of one model (``raw`` is the model's mapping), checked against the profile
    and against ``replicas``; None when the model has a fixed replica count."""
    body = raw.get("autoscaling")
    if body is None:
        return None
    key: list[str | int] = [*here, "autoscaling"]
    if not profile.kserve.scaling:
        others = supporting_profiles()
        where = f"profile {', '.join(others)} does" if others else "no profile does"
        raise fail(key, f"profile {profile.name}'s KServe has no LLMInferenceService spec.scaling "
                        f"(autoscaling needs KServe v0.20; {where})")
    if "replicas" in raw:
        # KServe v0.20's CEL rule: replicas and scaling are mutually exclusive
        raise fail([*here, "replicas"], "autoscaling sets the replica count (minReplicas..maxReplicas); "
                                        "remove replicas")
    low, high = body.get("minReplicas", 1), body["maxReplicas"]
    if low > high:
        raise fail([*key, "minReplicas"], f"{low} exceeds maxReplicas {high}")
    via = body["via"]
    keda = body.get("keda", {})
    if keda and via != "keda":
        raise fail([*key, "keda"], f"KEDA settings need via: keda (this model scales through {via})")
    idle = keda.get("idleReplicaCount")
    if idle is not None and idle >= low:
        # KServe's CEL rule: the idle floor lies below the active floor
        raise fail([*key, "keda", "idleReplicaCount"], f"{idle} must be less than minReplicas {low}")
    return Autoscaling(min_replicas=low, max_replicas=high, via=via,
                       variant_cost=str(body.get("variantCost", DEFAULT_VARIANT_COST)),
                       keda=tuple((f, int(keda[f])) for f in KEDA_FIELDS if f in keda))
