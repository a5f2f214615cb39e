"""SCL9xx: autoscaled LLMInferenceServices (KServe v0.20 `spec.scaling`) and what their autoscaler needs.

KServe v0.20 turns `spec.scaling` into a VariantAutoscaling for llm-d's Workload Variant Autoscaler (WVA)
and an HPA or a KEDA ScaledObject that applies WVA's decision (pkg/controller/v1alpha2/llmisvc/scaling.go).
WVA decides from vLLM's queue depth and KV-cache utilization, read from Prometheus; nothing in KServe makes
Prometheus scrape vLLM. Facts: infergate.synth.scaling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from infergate.policies import Hit, rule

from infergate.core.findings import Severity
from infergate.core.graph import (
    KSERVE_GROUP,
    KSERVE_MODEL_PORT,
    Graph,
    K8sObject,
    PodModel,
    as_dict,
    as_list,
    str_map,
)
from infergate.synth.scaling import METRICS

KSERVE_SCALING = "https://github.com/kserve/kserve/blob/v0.20.0/pkg/controller/v1alpha2/llmisvc/scaling.go"
KSERVE_TYPES = (
    "https://github.com/kserve/kserve/blob/v0.20.0/pkg/apis/serving/v1alpha2/llm_inference_service_types.go"
)
WVA = "https://github.com/llm-d/llm-d-workload-variant-autoscaler"
GMP = "https://cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed#gmp-pod-monitoring"
PROM_OPERATOR = "https://prometheus-operator.dev/docs/developer/getting-started/"
KEDA_PROMETHEUS = "https://keda.sh/docs/2.18/scalers/prometheus/"

GMP_GROUP = "monitoring.googleapis.com"
PROM_GROUP = "monitoring.coreos.com"
KEDA_GROUP = "keda.sh"
ISVC_CONFIG = "inferenceservice-config"  # KServe's controller ConfigMap (in KServe's namespace)
WVA_CONFIG_KEY = "autoscaling-wva-controller-config"
METRICS_PATH = "/metrics"
_METRIC_LIST = " and ".join(METRICS.values())


# ---- what is autoscaled -------------------------------------------------------------------------------

def _scalings(svc: K8sObject) -> Iterator[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]:
    """(path, workload spec, its scaling) of the main workload and of the prefill workload."""
    for path, workload in ((("spec",), svc.spec), (("spec", "prefill"), as_dict(svc.spec.get("prefill")))):
        scaling = workload.get("scaling")
        if isinstance(scaling, dict):
            yield path, workload, scaling


def _llmisvcs(graph: Graph) -> list[K8sObject]:
    return graph.of_kind("LLMInferenceService", KSERVE_GROUP)


def _actuator(scaling: Mapping[str, Any]) -> str | None:
    wva = as_dict(scaling.get("wva"))
    for actuator in ("keda", "hpa"):
        if isinstance(wva.get(actuator), dict):
            return actuator
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ---- who scrapes a pod ------------------------------------------------------------------------------

def _namespaces_of(monitor: K8sObject) -> tuple[str, ...] | None:
    """prometheus-operator namespaceSelector: None = any namespace; default: the monitor's own."""
    selector = as_dict(monitor.spec.get("namespaceSelector"))
    if selector.get("any") is True:
        return None
    names = [str(n) for n in as_list(selector.get("matchNames"))]
    return tuple(names) if names else (monitor.namespace or "default",)


def _metrics_path(endpoint: Mapping[str, Any]) -> bool:
    return endpoint.get("path") in (None, METRICS_PATH)


def _pod_port(pod: PodModel, port: Any) -> bool:
    """``port`` (number or name) is vLLM's serving port on ``pod``; KServe always serves it on 8000."""
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, int) and not isinstance(port, bool):
        return port == KSERVE_MODEL_PORT or (pod.origin != "kserve" and pod.exposes(port))
    return isinstance(port, str) and pod.exposes(port) and _named_port_number(pod, port) == KSERVE_MODEL_PORT


def _named_port_number(pod: PodModel, name: str) -> int | None:
    for container in pod.containers:
        for p in container.ports:
            if p.name == name:
                return p.number
    return None


def _pod_monitoring_scrapes(graph: Graph, monitor: K8sObject, pod: PodModel) -> bool:
    if monitor.kind == "PodMonitoring" and monitor.namespace != pod.namespace:
        return False
    if not graph.selector_matches(as_dict(monitor.spec.get("selector")), pod.labels):
        return False
    return any(_metrics_path(e) and _pod_port(pod, e.get("port"))
               for e in map(as_dict, as_list(monitor.spec.get("endpoints"))))


def _pod_monitor_scrapes(graph: Graph, monitor: K8sObject, pod: PodModel) -> bool:
    namespaces = _namespaces_of(monitor)
    if namespaces is not None and pod.namespace not in namespaces:
        return False
    if not graph.selector_matches(as_dict(monitor.spec.get("selector")), pod.labels):
        return False
    for e in map(as_dict, as_list(monitor.spec.get("podMetricsEndpoints"))):
        ports = [e.get(k) for k in ("port", "portNumber", "targetPort") if e.get(k) is not None]
        if _metrics_path(e) and any(_pod_port(pod, p) for p in ports):
            return True
    return False


def _service_monitor_scrapes(graph: Graph, monitor: K8sObject, pod: PodModel) -> bool:
    namespaces = _namespaces_of(monitor)
    if namespaces is not None and pod.namespace not in namespaces:
        return False
    selector = as_dict(monitor.spec.get("selector"))
    endpoints = [e for e in map(as_dict, as_list(monitor.spec.get("endpoints"))) if _metrics_path(e)]
    for svc in graph.in_namespace("Service", pod.namespace, "", include_virtual=True):
        if not graph.selector_matches(selector, svc.labels):
            continue
        pod_selector = str_map(svc.spec.get("selector"))
        if not pod_selector or not graph.selector_matches({"matchLabels": pod_selector}, pod.labels):
            continue
        ports = [as_dict(p) for p in as_list(svc.spec.get("ports"))]
        for e in endpoints:
            if e.get("targetPort") is not None and _pod_port(pod, e["targetPort"]):
                return True
            for p in ports:
                named = e.get("port") is not None and p.get("name") == e.get("port")
                if named and _pod_port(pod, p.get("targetPort", p.get("port"))):
                    return True
    return False


def _scraped(graph: Graph, pod: PodModel) -> bool:
    gmp = graph.of_kind("PodMonitoring", GMP_GROUP) + graph.of_kind("ClusterPodMonitoring", GMP_GROUP)
    if any(_pod_monitoring_scrapes(graph, m, pod) for m in gmp):
        return True
    if any(_pod_monitor_scrapes(graph, m, pod) for m in graph.of_kind("PodMonitor", PROM_GROUP)):
        return True
    return any(_service_monitor_scrapes(graph, m, pod) for m in graph.of_kind("ServiceMonitor", PROM_GROUP))


def _fact(graph: Graph, name: str) -> Any:
    platform = graph.platform
    return platform.fact(name) if platform is not None and hasattr(platform, "fact") else None


# ---- KServe's Prometheus settings for KEDA --------------------------------------------------------------

def _wva_config_problem(config_map: K8sObject) -> str | None:
    """What KServe v0.20's validateAutoscalingConfig refuses in ``inferenceservice-config``, or None."""
    raw = str_map(config_map.obj.get("data")).get(WVA_CONFIG_KEY)
    if raw is None:
        return f"has no {WVA_CONFIG_KEY} key"
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"{WVA_CONFIG_KEY} is not JSON ({exc.msg})"
    prom = as_dict(as_dict(parsed).get("prometheus"))
    if not str(prom.get("url") or "").strip():
        return f"{WVA_CONFIG_KEY} has no prometheus.url"
    if bool(prom.get("authModes")) != bool(prom.get("triggerAuthName")):
        return f"{WVA_CONFIG_KEY} sets only one of prometheus.authModes and prometheus.triggerAuthName"
    return None


# ---- rules --------------------------------------------------------------------------------------------

_SVC = """\
apiVersion: serving.kserve.io/v1alpha2
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
SCALE
  template:
    containers:
    - name: main
      image: vllm/vllm-openai:v0.11.0
      args: [--model=/mnt/models, --served-model-name=Qwen/Qwen2.5-3B-Instruct,
             --ssl-certfile=/var/run/kserve/tls/tls.crt, --ssl-keyfile=/var/run/kserve/tls/tls.key]
      ports: [{name: https, containerPort: 8000}]
      readinessProbe:
        httpGet: {path: /health, port: 8000, scheme: HTTPS}
      resources: {requests: {cpu: "2", memory: 8Gi}}
"""
_HPA = """\
  scaling:
    minReplicas: MIN
    maxReplicas: 4
    wva: {hpa: {}}"""
_KEDA = """\
  scaling:
    minReplicas: 1
    maxReplicas: 4
    wva: {keda: {pollingInterval: 15}}"""
_POD_MONITORING = """\
---
apiVersion: monitoring.googleapis.com/v1
kind: PodMonitoring
metadata: {name: vllm, namespace: demo}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: qwen, kserve.io/component: workload}}
  endpoints: [{port: PORT, path: /metrics, scheme: https, interval: 15s}]
"""
_SERVICE_MONITOR = """\
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: vllm, namespace: demo}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: qwen, app.kubernetes.io/part-of: llminferenceservice}}
  endpoints: [{port: https, scheme: https}]
"""
_ISVC_CONFIG = """\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: inferenceservice-config, namespace: kserve}
data:
  autoscaling-wva-controller-config: 'WVA'
"""


_ADAPTER = """\
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.external.metrics.k8s.io}
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  service: {name: prometheus-adapter, namespace: monitoring}
  groupPriorityMinimum: 100
  versionPriority: 100
"""
_PROMETHEUS = '{"prometheus": {"url": "https://prometheus.monitoring:9090"}}'


def _svc(scale: str, *, min_replicas: int = 1, ready: bool = True) -> str:
    """An LLMInferenceService example; ``ready``: with what its actuator needs (SCL905 stays quiet)."""
    text = _SVC.replace("SCALE", scale.replace("MIN", str(min_replicas)))
    if ready and scale == _HPA:
        text += _ADAPTER
    elif ready and scale == _KEDA:
        text += _ISVC_CONFIG.replace("WVA", _PROMETHEUS)
    return text


def _monitored(text: str, port: str = "8000") -> str:
    return text + _POD_MONITORING.replace("PORT", port)


@rule(
    "SCL901",
    "replicas-with-scaling",
    Severity.ERROR,
    summary="an LLMInferenceService workload sets both a fixed `replicas` and autoscaling `scaling`",
    rationale="KServe v0.20 makes `replicas` and `scaling` mutually exclusive (a CEL rule on the workload "
    "spec): the API server rejects the object and Argo CD's sync of the model fails. Without that rule the "
    "two would fight: the controller would reset the Deployment to `replicas` while the HPA or KEDA moved "
    "it. Also checked here for output validated without the v0.20 CRD (hand-written extras, other "
    "profiles).",
    links=(KSERVE_TYPES,),
    fix="Drop `replicas` from the autoscaled workload (infergate: drop `replicas` next to "
    "`autoscaling`); the replica range is `scaling.minReplicas`..`maxReplicas`.",
    bad=(
        _monitored(_svc(_HPA).replace("  scaling:", "  replicas: 2  # <-\n  scaling:")),
    ),
    good=(_monitored(_svc(_HPA)), _monitored(_svc("  replicas: 2"))),
)
def scl901(graph: Graph) -> Iterator[Hit]:
    for svc in _llmisvcs(graph):
        for path, workload, _ in _scalings(svc):
            if "replicas" in workload:
                yield Hit(svc, f"{svc.name} sets {'.'.join((*path[1:], 'replicas'))} and autoscales: "
                               "KServe accepts one of replicas and scaling", (*path, "replicas"))


@rule(
    "SCL902",
    "scaling-min-above-max",
    Severity.ERROR,
    summary="autoscaling whose minReplicas exceeds maxReplicas (or whose KEDA idle floor is not below it)",
    rationale="KServe v0.20's CEL rules refuse `minReplicas > maxReplicas` and a KEDA `idleReplicaCount` "
    "not below `minReplicas`; an HPA or ScaledObject built from such bounds could never settle. A typo "
    "here (4 and 2 swapped) otherwise surfaces only as a failed sync.",
    links=(KSERVE_TYPES, KSERVE_SCALING),
    fix="Make `minReplicas` ≤ `maxReplicas` (and `idleReplicaCount` < `minReplicas`).",
    bad=(_monitored(_svc(_HPA, min_replicas=6)).replace("minReplicas: 6", "minReplicas: 6  # <-"),),
    good=(_monitored(_svc(_HPA, min_replicas=4)),),
)
def scl902(graph: Graph) -> Iterator[Hit]:
    for svc in _llmisvcs(graph):
        for path, _, scaling in _scalings(svc):
            low, high = _int(scaling.get("minReplicas", 1)), _int(scaling.get("maxReplicas"))
            if low is not None and high is not None and low > high:
                yield Hit(svc, f"{svc.name}: minReplicas {low} exceeds maxReplicas {high}",
                          (*path, "scaling", "minReplicas"))
            idle = _int(as_dict(as_dict(scaling.get("wva")).get("keda")).get("idleReplicaCount"))
            if idle is not None and low is not None and idle >= low:
                yield Hit(svc, f"{svc.name}: KEDA idleReplicaCount {idle} is not below minReplicas {low}",
                          (*path, "scaling", "wva", "keda", "idleReplicaCount"))


@rule(
    "SCL903",
    "autoscaled-without-metrics",
    Severity.WARNING,
    summary="an autoscaled model whose vLLM metrics no PodMonitoring, ClusterPodMonitoring, PodMonitor or "
    "ServiceMonitor scrapes",
    rationale="KServe v0.20's autoscaler (WVA) decides from vLLM's queue depth (`vllm:num_requests_waiting`) "
    "and KV-cache utilization (`vllm:kv_cache_usage_perc`), which it reads from Prometheus; KServe creates "
    "no scrape configuration for the model server. Without a monitor selecting the workload pods and "
    "scraping `/metrics` on vLLM's port (8000 under KServe), WVA sees no series and never scales. Counted: "
    "a GKE Managed Prometheus PodMonitoring (same namespace) or ClusterPodMonitoring, a prometheus-operator "
    "PodMonitor, or a ServiceMonitor selecting a Service (KServe's `<name>-kserve-workload-svc` included) "
    "that selects the pods. Not checked: scrape configuration outside the output (a platform-wide "
    "monitor, a static scrape job); name those namespaces in the lint platform fact `scraped-namespaces` "
    "(`[lint.platform]`, `\"*\"` for all). Also not checked: that the vLLM image is new enough to emit "
    "`vllm:kv_cache_usage_perc` (older releases name it `vllm:gpu_cache_usage_perc`, which WVA does not "
    "read) and that NetworkPolicies let the scraper in.",
    links=(KSERVE_SCALING, WVA, GMP, PROM_OPERATOR),
    fix="Add a monitor for the model's pods (labels `app.kubernetes.io/name: <name>`, `kserve.io/component: "
    "workload`), port 8000, path `/metrics`, scheme https when vLLM serves TLS; or declare the namespace "
    "in `scraped-namespaces` when the platform scrapes it.",
    bad=(
        _svc(_HPA).replace("  scaling:", "  scaling:  # <-"),
        # (the monitor's own mistake is MON801/MON803's finding: suppressed, so the example shows SCL903)
        _monitored(_svc(_HPA), port="9090").replace("  scaling:", "  scaling:  # <-")
        .replace("{name: vllm, namespace: demo}", "{name: vllm, namespace: demo, annotations: "
                 "{ignore-check.infergate.io/MON801: the wrong port is the point}}"),
        # a PodMonitoring only sees pods of its own namespace
        _monitored(_svc(_HPA)).replace("{name: vllm, namespace: demo}", "{name: vllm, namespace: monitoring, "
                                       "annotations: {ignore-check.infergate.io/MON803: the point}}")
        .replace("  scaling:", "  scaling:  # <-"),
    ),
    good=(
        _monitored(_svc(_HPA)),
        _monitored(_svc(_HPA), port="https"),
        _svc(_HPA) + _SERVICE_MONITOR,
        _svc(_HPA) + """\
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: vllm, namespace: monitoring}
spec:
  namespaceSelector: {matchNames: [demo]}
  selector: {matchLabels: {kserve.io/component: workload}}
  podMetricsEndpoints: [{port: https, scheme: https}]
""",
        _svc(_HPA) + """\
---
apiVersion: monitoring.googleapis.com/v1
kind: ClusterPodMonitoring
metadata: {name: vllm}
spec:
  selector: {matchLabels: {app.kubernetes.io/part-of: llminferenceservice}}
  endpoints: [{port: 8000, scheme: https, interval: 30s}]
""",
    ),
)
def scl903(graph: Graph) -> Iterator[Hit]:
    platform_scraped = {str(n) for n in as_list(_fact(graph, "scraped_namespaces"))}
    for svc in _llmisvcs(graph):
        scalings = list(_scalings(svc))
        if not scalings or {"*", svc.namespace or "default"} & platform_scraped:
            continue
        pods = [p for p in graph.pods if p.source is svc and p.role == "model-server"]
        if pods and not any(_scraped(graph, p) for p in pods):
            yield Hit(svc, f"{svc.name} is autoscaled on {_METRIC_LIST}, but no monitor in this output "
                           f"scrapes {METRICS_PATH} on port {KSERVE_MODEL_PORT} of its pods (not checked: "
                           "scrape configuration outside the output; see scraped-namespaces)",
                      (*scalings[0][0], "scaling"))


@rule(
    "SCL904",
    "keda-prometheus-without-server",
    Severity.ERROR,
    summary="a KEDA `prometheus` trigger with no server: a ScaledObject without `serverAddress`, or an "
    "LLMInferenceService scaled through KEDA while KServe's `inferenceservice-config` names no Prometheus",
    rationale="KEDA's Prometheus scaler needs `serverAddress`; without it the ScaledObject never becomes "
    "Ready and the workload stays where it is. KServe v0.20 builds its ScaledObject's trigger from the "
    "`autoscaling-wva-controller-config` key of `inferenceservice-config` and refuses to reconcile an "
    "LLMInferenceService with `scaling.wva.keda` when that key has no `prometheus.url` (or only one of "
    "`authModes`/`triggerAuthName`): the reconcile fails and the model's workload is marked not Ready "
    "(ReconcileScalingError). Checked when that ConfigMap is in the output; SCL905 says when it is not.",
    links=(KSERVE_SCALING, KEDA_PROMETHEUS),
    fix="Set `serverAddress` on the trigger; for KServe, set `autoscaling-wva-controller-config` to "
    "`{\"prometheus\": {\"url\": \"https://<prometheus>:9090\"}}` in `inferenceservice-config`.",
    bad=(
        _monitored(_svc(_KEDA, ready=False)).replace("{pollingInterval: 15}}", "{pollingInterval: 15}}  # <-")
        + _ISVC_CONFIG.replace("WVA", '{"prometheus": {"url": ""}}'),
        """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: vllm, namespace: demo}
spec:
  scaleTargetRef: {name: vllm}
  triggers:
  - type: prometheus
    metadata: {query: 'sum(vllm:num_requests_waiting)', threshold: "5"}  # <-
""",
    ),
    good=(
        _monitored(_svc(_KEDA)),
        """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: vllm, namespace: demo}
spec:
  scaleTargetRef: {name: vllm}
  triggers:
  - type: prometheus
    metadata: {serverAddress: "http://prometheus.monitoring:9090", query: 'sum(vllm:num_requests_waiting)',
               threshold: "5"}
""",
    ),
)
def scl904(graph: Graph) -> Iterator[Hit]:
    for so in graph.of_kind("ScaledObject", KEDA_GROUP):
        for i, trigger in enumerate(map(as_dict, as_list(so.spec.get("triggers")))):
            if trigger.get("type") == "prometheus" and not str(
                    as_dict(trigger.get("metadata")).get("serverAddress") or "").strip():
                yield Hit(so, f"ScaledObject {so.name}: prometheus trigger {i} has no serverAddress",
                          ("spec", "triggers", i, "metadata"))
    configs = graph.of_kind("ConfigMap", "")
    config = next((c for c in configs if c.name == ISVC_CONFIG), None)
    if config is None:
        return
    problem = _wva_config_problem(config)
    if problem is None:
        return
    for svc in _llmisvcs(graph):
        for path, _, scaling in _scalings(svc):
            if _actuator(scaling) == "keda":
                yield Hit(svc, f"{svc.name} scales through KEDA, but {config.namespace}/{ISVC_CONFIG} "
                               f"{problem}: KServe refuses to build the ScaledObject",
                          (*path, "scaling", "wva", "keda"))


@rule(
    "SCL905",
    "autoscaler-prerequisites-unverified",
    Severity.INFO,
    summary="an autoscaled model whose actuator prerequisite lies outside the output (not checked)",
    rationale="What makes KServe v0.20's actuator work is cluster configuration infergate does not "
    "generate. With KEDA: the Prometheus URL in the `autoscaling-wva-controller-config` key of KServe's "
    "`inferenceservice-config` (KServe's v0.20 Helm chart does not set it; its install script patches it "
    "in). With an HPA: a Prometheus Adapter serving `wva_desired_replicas` through the external metrics "
    "API (`v1beta1.external.metrics.k8s.io`), without which the HPA silently stops scaling. This note "
    "says which of the two could not be checked; declare it with the lint platform fact "
    "`wva-prometheus-url` (KEDA) or `external-metrics-api = true` (HPA), or put the object in the output. "
    "Never checked: the WVA controller and its VariantAutoscaling CRD (without the CRD KServe marks the "
    "model's workload not Ready, ScalingCRDNotFound).",
    links=(KSERVE_SCALING, KSERVE_TYPES, WVA),
    fix="Configure the cluster (see rationale) and record it in `[lint.platform]`, or silence SCL905.",
    bad=(
        _monitored(_svc(_KEDA, ready=False)).replace("15}}", "15}}  # <-"),
        _monitored(_svc(_HPA, ready=False)).replace("{hpa: {}}", "{hpa: {}}  # <-"),
    ),
    good=(_monitored(_svc(_KEDA)), _monitored(_svc(_HPA))),
)
def scl905(graph: Graph) -> Iterator[Hit]:
    has_config = any(c.name == ISVC_CONFIG for c in graph.of_kind("ConfigMap", ""))
    has_external = bool(_fact(graph, "external_metrics_api")) or any(
        a.name == "v1beta1.external.metrics.k8s.io"
        for a in graph.of_kind("APIService", "apiregistration.k8s.io"))
    prometheus = bool(_fact(graph, "wva_prometheus_url"))
    for svc in _llmisvcs(graph):
        for path, _, scaling in _scalings(svc):
            actuator = _actuator(scaling)
            if actuator == "keda" and not (has_config or prometheus):
                yield Hit(svc, f"{svc.name} scales through KEDA: not checked that KServe's {ISVC_CONFIG} "
                               f"names a Prometheus ({WVA_CONFIG_KEY}.prometheus.url); it is not in the "
                               "output (platform fact wva-prometheus-url)", (*path, "scaling", "wva", "keda"))
            elif actuator == "hpa" and not has_external:
                yield Hit(svc, f"{svc.name} scales through an HPA on the external metric "
                               "wva_desired_replicas: not checked that a Prometheus Adapter serves it "
                               "(platform fact external-metrics-api)", (*path, "scaling", "wva", "hpa"))
