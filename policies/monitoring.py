"""MON8xx: metrics monitors (GMP PodMonitoring / ClusterPodMonitoring, prometheus-operator PodMonitor and
ServiceMonitor) that cannot scrape the pods they select.

A monitor scrapes a port of the selected pods by name or number; a port no container declares yields no
target (prometheus-operator drops it, GMP has nothing to connect to) and the dashboard stays silently empty.
The scheme must be what the port serves: vLLM serves HTTPS on its port exactly when it runs with
`--ssl-certfile`, the endpoint picker's metrics port is plain HTTP unless it is given `--metrics-cert-dir`.
A ServiceMonitor names a port of the Services it selects; the scrape goes to that port's targetPort on the
Service's pods (prometheus-operator builds its targets from the Endpoints/EndpointSlices), so the pod port and
scheme are judged there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from infergate.policies import Hit, rule
from infergate.policies._examples import mark_line
from infergate.policies._inference import serves_tls

from infergate.core.findings import Severity
from infergate.core.graph import Container, Graph, K8sObject, PodModel, as_dict, as_list

GMP_GROUP, PROMOP_GROUP = "monitoring.googleapis.com", "monitoring.coreos.com"
GMP_DOCS = "https://cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed"
PODMONITOR_DOCS = "https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PodMonitor"
VLLM_METRICS = "https://docs.vllm.ai/en/stable/design/metrics.html"
VLLM_DEFAULT_PORT, EPP_DEFAULT_METRICS_PORT = 8000, 9090


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One scrape endpoint of a monitor: the port it names (str) or numbers (int), the scheme, its path."""

    port: int | str | None
    scheme: str
    path: tuple[str | int, ...]
    scheme_set: bool
    service_port: bool = False  # a ServiceMonitor port: the name of a port of the selected Services


def _endpoints(monitor: K8sObject) -> Iterator[Endpoint]:
    key = "podMetricsEndpoints" if monitor.kind == "PodMonitor" else "endpoints"
    for i, raw in enumerate(as_list(monitor.spec.get(key))):
        ep = as_dict(raw)
        port: Any = ep.get("port")
        if monitor.kind == "PodMonitor":  # port is a name; portNumber (and the old targetPort) a number
            port = port if isinstance(port, str) and port else ep.get("portNumber", ep.get("targetPort"))
        elif monitor.kind == "ServiceMonitor":  # port names a Service port; targetPort (deprecated) a pod's
            port = port if isinstance(port, str) and port else ep.get("targetPort")
        named = ep.get("port")
        service_port = monitor.kind == "ServiceMonitor" and isinstance(named, str) and named != ""
        if isinstance(port, bool) or not isinstance(port, int | str) or port == "":
            port = None
        scheme = ep.get("scheme")
        yield Endpoint(port, str(scheme).lower() if isinstance(scheme, str) else "http",
                       ("spec", key, i), isinstance(scheme, str), service_port)


def monitors(graph: Graph) -> Iterator[K8sObject]:
    yield from graph.of_kind("PodMonitoring", GMP_GROUP)
    yield from graph.of_kind("ClusterPodMonitoring", GMP_GROUP)
    yield from graph.of_kind("PodMonitor", PROMOP_GROUP)
    yield from graph.of_kind("ServiceMonitor", PROMOP_GROUP)


def _monitor_namespaces(monitor: K8sObject) -> list[str] | None:
    """prometheus-operator namespaceSelector: None = any namespace; default: the monitor's own."""
    scope = as_dict(monitor.spec.get("namespaceSelector"))
    if scope.get("any") is True:
        return None
    names = sorted({n for n in as_list(scope.get("matchNames")) if isinstance(n, str)})
    return names or [monitor.namespace or "default"]


def selected_services(graph: Graph, monitor: K8sObject) -> list[K8sObject]:
    """The Services a ServiceMonitor selects (by their labels, in its namespaces)."""
    selector = monitor.spec.get("selector")
    if not isinstance(selector, dict):
        return []
    namespaces = _monitor_namespaces(monitor)
    # include KServe's workload Service, which the graph models from its LLMInferenceService
    services = graph.of_kind("Service", "", include_virtual=True) if namespaces is None else [
        svc for ns in namespaces for svc in graph.in_namespace("Service", ns, "", include_virtual=True)]
    return [svc for svc in services if graph.selector_matches(selector, svc.labels)]


def _service_backends(graph: Graph, svc: K8sObject) -> list[PodModel]:
    pod_selector = as_dict(svc.spec.get("selector"))
    if not pod_selector:  # a Service without a selector has hand-made endpoints infergate cannot see
        return []
    return graph.pods_matching(svc.namespace or "default", {"matchLabels": pod_selector})


def scrape_targets(graph: Graph, monitor: K8sObject, ep: Endpoint) -> list[tuple[PodModel, int | str | None]]:
    """(pod, the pod port the scrape reaches) for one endpoint. A ServiceMonitor endpoint reaches only the
    selected Services that have a port of its name, at that port's targetPort."""
    if monitor.kind != "ServiceMonitor":
        return [(pod, ep.port) for pod in selected_pods(graph, monitor)]
    targets: list[tuple[PodModel, int | str | None]] = []
    for svc in selected_services(graph, monitor):
        target: int | str | None = ep.port
        if ep.service_port:
            ports = [as_dict(p) for p in as_list(svc.spec.get("ports"))]
            match = next((p for p in ports if p.get("name") == ep.port), None)
            if match is None:  # prometheus-operator makes no target of a Service without that port name
                continue
            target = match.get("targetPort", match.get("port"))
            if isinstance(target, str) and target.isdigit():
                target = int(target)
        targets += [(pod, target) for pod in _service_backends(graph, svc)]
    return targets


def selected_pods(graph: Graph, monitor: K8sObject) -> list[PodModel]:
    if monitor.kind == "ServiceMonitor":
        return [pod for svc in selected_services(graph, monitor) for pod in _service_backends(graph, svc)]
    selector = monitor.spec.get("selector")
    if not isinstance(selector, dict):
        return []
    if monitor.kind == "ClusterPodMonitoring":
        return graph.pods_matching(None, selector)
    if monitor.kind == "PodMonitor":
        scope = as_dict(monitor.spec.get("namespaceSelector"))
        if scope.get("any") is True:
            return graph.pods_matching(None, selector)
        names = [n for n in as_list(scope.get("matchNames")) if isinstance(n, str)]
        if names:
            return [p for ns in sorted(set(names)) for p in graph.pods_matching(ns, selector)]
    return graph.pods_matching(monitor.namespace or "default", selector)


def _container_port(pod: PodModel, port: int | str) -> tuple[Container, int] | None:
    for container in pod.containers:
        for p in container.ports:
            if p.number is not None and ((isinstance(port, int) and p.number == port)
                                         or (isinstance(port, str) and p.name == port)):
                return container, p.number
    return None


def _int_flag(container: Container, name: str, default: int) -> int:
    value = container.flag(name)
    return int(value) if value is not None and value.isdigit() else default


def served_scheme(pod: PodModel, port: int | str) -> str | None:
    """What ``port`` of ``pod`` serves, where infergate knows: vLLM's serving port, the EPP's metrics port."""
    found = _container_port(pod, port)
    if found is None:
        return None
    container, number = found
    if pod.role == "model-server" and number == _int_flag(container, "--port", VLLM_DEFAULT_PORT):
        return "https" if serves_tls(container) else "http"
    if pod.role == "epp" and number == _int_flag(container, "--metrics-port", EPP_DEFAULT_METRICS_PORT):
        return "https" if container.flag("--metrics-cert-dir") not in (None, "") else "http"
    return None


def _port_text(port: int | str) -> str:
    return f"port {port}" if isinstance(port, int) else f"port name {port!r}"


_MONITOR = """\
apiVersion: monitoring.googleapis.com/v1
kind: PodMonitoring
metadata: {name: vllm-metrics, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  endpoints:
  - {port: PORT, path: /metrics, scheme: SCHEME, interval: 30s}
"""
_POD_MONITOR = """\
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: epp-metrics, namespace: demo}
spec:
  selector: {matchLabels: {app: epp}}
  podMetricsEndpoints:
  - {portNumber: 9002, path: /metrics, scheme: SCHEME}
"""


_SERVICE_MONITOR = """\
apiVersion: v1
kind: Service
metadata: {name: vllm-metrics, namespace: demo, labels: {app: vllm}}
spec:
  selector: {app: vllm}
  ports: [{name: web, port: 80, targetPort: TARGET}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: vllm-metrics, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  endpoints:
  - {port: web, path: /metrics, scheme: SCHEME}
"""


def _service_monitor(target: str = "http", scheme: str = "http") -> str:
    return "# context: stack\n" + _SERVICE_MONITOR.replace("TARGET", target).replace("SCHEME", scheme)


def _monitor(port: str = "http", scheme: str = "http", app: str = "vllm") -> str:
    text = _MONITOR.replace("PORT", port).replace("SCHEME", scheme).replace("app: vllm", f"app: {app}")
    return "# context: stack\n" + text


def _vllm_pod_monitor(scheme: str) -> str:
    return _POD_MONITOR.replace("app: epp", "app: vllm").replace("9002", "8000").replace("SCHEME", scheme)


@rule(
    "MON801",
    "monitor-port-not-on-pod",
    Severity.ERROR,
    summary="a metrics monitor (PodMonitoring, ClusterPodMonitoring, PodMonitor, ServiceMonitor) scrapes a "
    "port that a pod it selects does not declare",
    rationale="A monitor names the port to scrape by container port name or number. A pod without that port "
    "yields no target: prometheus-operator drops it, GMP has nowhere to connect, and the metrics are missing "
    "without any error on the monitor. vLLM serves `/metrics` on its serving port (KServe names it "
    "`https` or `http` in the LLMInferenceService template), the endpoint picker on its metrics port "
    "(9090, `metrics`).",
    links=(GMP_DOCS, PODMONITOR_DOCS, VLLM_METRICS),
    fix="Scrape a port the selected pods declare (name or number), or declare it on their container.",
    bad=(
        mark_line(_monitor(port="metrics"), "port: metrics"),
        "# context: stack\n" + mark_line(_POD_MONITOR.replace("9002", "9090").replace("SCHEME", "http"),
                                         "portNumber: 9090"),
        mark_line(_service_monitor(target="9000"), "- {port: web"),  # the Service sends it to :9000
    ),
    good=(_monitor(), "# context: stack\n" + _POD_MONITOR.replace("SCHEME", "http"), _service_monitor()),
)
def mon801(graph: Graph) -> Iterator[Hit]:
    for monitor in monitors(graph):
        for ep in _endpoints(monitor):
            if ep.port is None:
                continue
            lacking = sorted({f"{p.namespace}/{p.name}" for p, port in scrape_targets(graph, monitor, ep)
                              if port is None or _container_port(p, port) is None})
            if lacking:
                numbered = monitor.kind == "PodMonitor" and isinstance(ep.port, int)
                yield Hit(monitor, f"{monitor.kind} {monitor.name} scrapes {_port_text(ep.port)}, which "
                          f"{', '.join(lacking)} does not declare: no target, no metrics",
                          (*ep.path, "portNumber" if numbered else "port"))


@rule(
    "MON802",
    "monitor-scheme-mismatch",
    Severity.ERROR,
    summary="a metrics monitor scrapes over HTTP a port that serves HTTPS, or the other way round",
    rationale="vLLM serves `/metrics` on its serving port, over TLS exactly when it runs with "
    "`--ssl-certfile` (infergate's default, `vllm.tls`); the endpoint picker's metrics port is plain HTTP "
    "unless it is given `--metrics-cert-dir`. A plain-HTTP scrape of a TLS port fails the handshake, an "
    "HTTPS scrape of a plain port fails too: the target is down and every alert on it is blind. The scheme "
    "defaults to `http` in both CRDs.",
    links=(GMP_DOCS, PODMONITOR_DOCS, VLLM_METRICS),
    fix="Set `scheme` to what the port serves (`https` with a `tls`/`tlsConfig` CA trusting the serving "
    "certificate, or `http`).",
    bad=(
        mark_line(_monitor(scheme="https"), "scheme: https"),
        "# context: stack\n" + mark_line(_vllm_pod_monitor("HTTPS"), "scheme: HTTPS"),
        mark_line(_service_monitor(target="8000", scheme="https"), "- {port: web"),
    ),
    good=(_monitor(), "# context: stack\n" + _vllm_pod_monitor("HTTP"), _service_monitor(target="8000")),
)
def mon802(graph: Graph) -> Iterator[Hit]:
    for monitor in monitors(graph):
        for ep in _endpoints(monitor):
            if ep.port is None:
                continue
            served = {served_scheme(p, port) for p, port in scrape_targets(graph, monitor, ep)
                      if port is not None} - {None}
            wrong = sorted(s for s in served if s != ep.scheme)
            if wrong:
                yield Hit(monitor, f"{monitor.kind} {monitor.name} scrapes {_port_text(ep.port)} over "
                          f"{ep.scheme.upper()}, but the selected pods serve {wrong[0].upper()} there: the "
                          "scrape fails", (*ep.path, "scheme") if ep.scheme_set else ep.path)


@rule(
    "MON803",
    "monitor-selects-no-pod",
    Severity.INFO,
    summary="a metrics monitor whose selector matches no pod of the output",
    rationale="A monitor whose labels match nothing scrapes nothing, silently. Often its labels are those "
    "of an older name, or the pods' labels changed. Open world: the pods may come from outside the output "
    "(another Application, an operator infergate does not model), hence info.",
    links=(GMP_DOCS, PODMONITOR_DOCS),
    fix="Select the pods by labels they carry (for KServe's vLLM pods: app.kubernetes.io/name, "
    "app.kubernetes.io/part-of: llminferenceservice, kserve.io/component: workload).",
    bad=(mark_line(_monitor(app="vllm-old"), "selector:"),),
    good=(_monitor(),),
)
def mon803(graph: Graph) -> Iterator[Hit]:
    for monitor in monitors(graph):
        if not selected_pods(graph, monitor):
            yield Hit(monitor, f"{monitor.kind} {monitor.name} selects no pod of the output (open world: its "
                      "pods may be deployed elsewhere)", ("spec", "selector"))
