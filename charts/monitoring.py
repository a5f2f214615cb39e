"""Metrics scraping (environment `monitoring:`): one monitor per model server and per endpoint picker.

kind gmp emits GKE Managed Service for Prometheus PodMonitorings (monitoring.googleapis.com/v1), kind
prometheus-operator emits PodMonitors (monitoring.coreos.com/v1); both select the pods by the labels the
NetworkPolicies use and scrape `/metrics`:
- vLLM on its serving port (named `https` or `http` in the LLMInferenceService template), over HTTPS when
  vLLM serves TLS. The scrape trusts the internal CA (the `ca.crt` cert-manager puts in every certificate
  that CA issues: a client certificate of the namespace, as the gateway's upstream trust) and checks the
  workload Service's name, which every vLLM certificate carries (pods are scraped by IP);
- the endpoint picker infergate runs (router `explicit`) on its metrics port 9090, plain HTTP: GIE's
  metrics server has no TLS unless given its own certificate directory. Its authentication
  (`--metrics-endpoint-auth`) is turned off where monitoring is on (charts/epp.py): neither collector sends
  a token, and the NetworkPolicies admit only the scraper to that port. KServe's own picker (router
  `managed`) keeps authentication on, so it gets no monitor (and no scraper admission).

GMP's collectors (ServiceAccount `collector` of their namespace) fetch the CA secret a PodMonitoring names
themselves (the CRD's "secret provider"); their ClusterRole reads no secrets, so a Role in the model
namespace grants that one secret. prometheus-operator reads secrets with its own cluster-wide rights.
"""

from __future__ import annotations

from typing import Any

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import Chart, fqdn, labels, meta
from infergate.charts.epp import METRICS_PORT
from infergate.charts.resources import Certificate, CustomResource

from infergate.synth.config import Environment, Model

METRICS_PATH = "/metrics"
TRUST_SECRET = "metrics-scrape-trust"  # per model namespace: its ca.crt is the internal CA
GMP_COLLECTOR_SA = "collector"
EPP_METRICS_PORT_NAME = "metrics"  # charts/epp.py names the container port so


class PodMonitoring(CustomResource):
    API_VERSION, KIND = "monitoring.googleapis.com/v1", "PodMonitoring"


class PodMonitor(CustomResource):
    API_VERSION, KIND = "monitoring.coreos.com/v1", "PodMonitor"


def vllm_port_name(model: Model) -> str:
    """The name of vLLM's container port (charts/llmisvc.py): the scheme it serves."""
    return "https" if model.vllm.tls else "http"


def scraped(env: Environment) -> list[tuple[Model, str]]:
    """(model, "vllm" | "epp") for every monitor the environment gets, in output order."""
    if not env.monitoring.enabled:
        return []
    out: list[tuple[Model, str]] = []
    for model in env.models:
        out.append((model, "vllm"))
        if model.router == "explicit":
            out.append((model, "epp"))
    return out


def _endpoint(env: Environment, model: Model, target: str) -> dict[str, Any]:
    """One scrape endpoint, in the field names of the environment's monitor kind."""
    gmp = env.monitoring.kind == "gmp"
    tls = target == "vllm" and model.vllm.tls
    port: str = vllm_port_name(model) if target == "vllm" else EPP_METRICS_PORT_NAME
    endpoint: dict[str, Any] = {"port": port, "path": METRICS_PATH, "scheme": "https" if tls else "http",
                                "interval": env.monitoring.interval}
    if tls:
        ca = {"secret": {"name": TRUST_SECRET, "key": "ca.crt"}}
        server = fqdn(model.workload_service, model.namespace)
        endpoint["tls" if gmp else "tlsConfig"] = {"ca": ca, "serverName": server}
    return endpoint


class MetricsChart(Chart):
    """dist/<env>/metrics/: the monitors, and what their TLS needs (trust secret, GMP's read access)."""

    WAVE = 3  # after the models: a monitor whose CRD is missing must not hold the models back
    FOLDER = "metrics"

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        namespaces = sorted({m.namespace for m, _ in scraped(env)})
        super().__init__(scope, folder, wave=self.WAVE,
                         destination_namespace=namespaces[0] if namespaces else "default")
        mon = env.monitoring
        kind = PodMonitoring if mon.kind == "gmp" else PodMonitor
        endpoints_key = "endpoints" if mon.kind == "gmp" else "podMetricsEndpoints"
        for model, target in scraped(env):
            pods = model.workload_labels if target == "vllm" else model.scheduler_pod_labels
            component = "model-server" if target == "vllm" else "endpoint-picker"
            name = f"{model.name}-{target}-metrics"
            kind(self, name, namespace=model.namespace,
                 labels={**labels(name, component, model.name), **mon.monitor_labels},
                 spec={"selector": {"matchLabels": dict(pods)},
                       endpoints_key: [_endpoint(env, model, target)]})
        for ns in sorted({m.namespace for m, t in scraped(env) if t == "vllm" and m.vllm.tls}):
            self._trust(env, ns)

    def _trust(self, env: Environment, ns: str) -> None:
        """A client certificate of the internal CA whose ca.crt the monitors trust (never presented)."""
        issuer, lab = env.pki.issuer, labels(TRUST_SECRET, "metrics", "infergate")
        Certificate(self, TRUST_SECRET, namespace=ns, labels=lab, spec={
            "secretName": TRUST_SECRET, "commonName": f"{TRUST_SECRET}.{ns}",
            "dnsNames": [f"{TRUST_SECRET}.{ns}"],
            "duration": "2160h", "renewBefore": "360h", "usages": ["digital signature", "client auth"],
            "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": "cert-manager.io"}})
        if env.monitoring.kind != "gmp":
            return
        reader = f"{TRUST_SECRET}-reader"
        k8s.KubeRole(self, f"{ns}-reader", metadata=meta(reader, ns, lab), rules=[k8s.PolicyRule(
            api_groups=[""], resources=["secrets"], resource_names=[TRUST_SECRET],
            verbs=["get", "list", "watch"])])
        k8s.KubeRoleBinding(
            self, f"{ns}-reader-binding", metadata=meta(reader, ns, lab),
            role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=reader),
            subjects=[k8s.Subject(kind="ServiceAccount", name=GMP_COLLECTOR_SA,
                                  namespace=str(env.monitoring.namespace))])


def scraper_ports(env: Environment, model: Model) -> dict[str, list[int]]:
    """The ports of ``model``'s pods the scraper is admitted to: {"vllm": [...], "epp": [...]}."""
    out: dict[str, list[int]] = {"vllm": [], "epp": []}
    for m, target in scraped(env):
        if m is model:
            out[target].append(model.port if target == "vllm" else METRICS_PORT)
    return out
