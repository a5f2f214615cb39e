"""The evaluator's view of one cluster, built from the lint object graph and the platform facts.

Besides the pods the graph knows (manifests, KServe- and Istio-created), the cluster holds endpoints
that no manifest declares but every flow question needs:
- ``dns``: the cluster DNS pods (platform ``dns_namespace`` / ``dns_pod_labels``, 53 UDP+TCP);
- ``api-server`` and ``internet``: external address sets (``api_server_cidrs``, the model download
  CIDRs minus their exceptions) - NetworkPolicies reach them only through ipBlock;
  (the node metadata server, ``metadata_server_cidrs``, is no endpoint of the matrix: NP108 asks the
  evaluator about its addresses directly)
- ``monitoring``: the metrics scraper (environment ``monitoring:``): a pod of its namespace, its pod labels;
- ``istiod``: the control plane a sail-operator ``Istio`` of the output runs (xDS on 15012 for gateways);
- ``any-pod``: an unlabelled pod in every namespace, plus one in a namespace nobody selects by name:
  what any other workload (or an attacker's pod) would be. Forbidden flows are checked from them.

infergate's own in-cluster checks get roles of their own: ``smoke`` (the smoke-test Job, by its labels) and
``probe`` (an isolation probe wears the labels of the role it imitates; as ``probe`` it counts for no role
of the security model, so a probe never satisfies or violates a flow on behalf of that role).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infergate.core.graph import GATEWAY_GROUP, GATEWAY_NAME_LABEL, KSERVE_GROUP, PROBE_LABEL
from infergate.netpol.evaluate import Evaluator
from infergate.netpol.model import PROTOCOLS, Endpoint, Namespace, PortSpec, external, pod
from infergate.netpol.policy import Policy, PolicyError, parse_policy
from infergate.synth.multihost import LWS_NAME_LABEL

NETPOL_GROUP = "networking.k8s.io"
KSERVE_MODEL_PORT = 8000  # kserve-config-llm-template's container port
ISTIOD_PORTS = (PortSpec(15010, "TCP", "grpc-xds"), PortSpec(15012, "TCP", "https-dns"),
                PortSpec(15014, "TCP", "http-monitoring"), PortSpec(15017, "TCP", "https-webhook"))
OTHER_NAMESPACE = "(any other namespace)"  # cannot collide with a real namespace name
PROBE_NAME = "(any pod)"

# Roles, in the order the matrix shows them ("probe" is none of them: see the module docstring).
ROLES = ("gateway", "epp", "model-server", "model-worker", "smoke", "bbr", "other", "any-pod", "monitoring",
         "istiod", "dns", "api-server", "internet")
PROBE_ROLE = "probe"
# The smoke-test Job's pods (charts/smoke.py); its NetworkPolicies select them by these labels.
SMOKE_POD_LABELS = {"app.kubernetes.io/component": "smoke-test", "app.kubernetes.io/managed-by": "infergate"}
# GIE's Body-Based Router (charts/bbr.py, gateway.sharedPath) labels its pods with this component
BBR_COMPONENT = "body-based-router"
# exist only with an option (model-worker: a multi-host slice): their absence leaves nothing unchecked
OPTIONAL_ROLES = ("bbr", "model-worker")
# model-worker: the worker pods of a multi-host LLMInferenceService (its leader is a model-server)
_GRAPH_ROLES = {"gateway": "gateway", "epp": "epp", "model-server": "model-server",
                "model-worker": "model-worker"}
# Model URI schemes the storage initializer fetches over the pod network (oci:// is pulled by the
# kubelet and pvc:// is a volume: neither needs pod egress).
NETWORK_URI_SCHEMES = ("hf", "s3", "gs", "http", "https", "azure", "hdfs", "webhdfs")

DEFAULTS: dict[str, Any] = {
    "api_server_cidrs": (),
    "api_server_ports": (443,),
    "pod_cidrs": ("10.0.0.0/8",),
    "dns_namespace": "kube-system",
    "dns_pod_labels": {"k8s-app": "kube-dns"},
    "model_download_cidrs": ("0.0.0.0/0",),
    "model_download_except": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
    "monitoring_namespace": None,
    "monitoring_pod_labels": {},  # the scraper's pod labels (environment `monitoring.podLabels`)
    # the node's cloud metadata server (GCE/GKE, AWS, Azure): it hands out the node's credentials
    "metadata_server_cidrs": ("169.254.169.254/32",),
    "metadata_server_ports": (80,),
    # labels of the pods of a Gateway that is not in the tree, besides gateway-name (e.g. istio.io/rev)
    "gateway_pod_labels": {},
}


@dataclass(frozen=True, slots=True)
class BadPolicy:
    source: Any  # K8sObject
    message: str
    path: tuple[str | int, ...]


@dataclass(slots=True)
class Cluster:
    namespaces: list[Namespace]
    endpoints: list[Endpoint]
    policies: list[Policy]
    facts: dict[str, Any]
    bad_policies: list[BadPolicy] = field(default_factory=list)
    _evaluator: Evaluator | None = None

    @property
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.namespaces, self.endpoints, self.policies,
                                        self.facts["pod_cidrs"])
        return self._evaluator


CIDR_FACTS = ("api_server_cidrs", "pod_cidrs", "model_download_cidrs", "model_download_except",
              "metadata_server_cidrs")
PORT_FACTS = ("api_server_ports", "metadata_server_ports")


def fact_problem(key: str, value: Any) -> str | None:
    """Why a NetworkPolicy platform fact (snake_case key) is unusable, or None: the config is checked with
    this, so a typo is a config error instead of a crash of every NP rule."""
    if key == "gateway_pod_labels":
        ok = isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in value.items())
        return None if ok else "must be a table of label = value strings"
    if key == "kserve_enable_tls":
        return None if isinstance(value, bool) else "must be true or false"
    if key == "kserve_ingress_gateway":
        ns, _, name = str(value).partition("/")
        ok = isinstance(value, str) and bool(ns) and bool(name) and "/" not in name
        return None if ok else 'must be "NAMESPACE/NAME"'
    if key == "profile":
        from infergate.synth import profiles

        known = profiles.names()
        return None if value in known else f"{value!r} is no platform profile (known: {', '.join(known)})"
    if key not in CIDR_FACTS + PORT_FACTS:
        return None
    if not isinstance(value, list | tuple):
        return "must be a list"
    for item in value:
        if key in PORT_FACTS:
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 65535:
                return f"{item!r} is not a port number"
            continue
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            return f"{item!r} is not a CIDR"
    return None


def facts_from(platform: Any) -> dict[str, Any]:
    """Platform facts the evaluator needs, from the lint Platform (``fact()``), a mapping, or defaults."""
    out = dict(DEFAULTS)
    for key in DEFAULTS:
        value = None
        if platform is not None and hasattr(platform, "fact"):
            value = platform.fact(key)
        elif isinstance(platform, Mapping):
            value = platform.get(key)
        elif platform is not None:
            value = getattr(platform, key, None)
        if value is not None:
            out[key] = value
    for key in ("api_server_cidrs", "pod_cidrs", "model_download_cidrs", "model_download_except",
                "metadata_server_cidrs"):
        out[key] = tuple(str(v) for v in out[key])
    for key in ("api_server_ports", "metadata_server_ports"):
        out[key] = tuple(int(p) for p in out[key])
    out["dns_pod_labels"] = {str(k): str(v) for k, v in dict(out["dns_pod_labels"]).items()}
    out["monitoring_pod_labels"] = {str(k): str(v) for k, v in dict(out["monitoring_pod_labels"]).items()}
    return out


def model_uri(pod_model: Any) -> str | None:
    source = getattr(pod_model, "source", None)
    if source is None or getattr(source, "kind", None) != "LLMInferenceService":
        return None
    model = source.spec.get("model")
    uri = model.get("uri") if isinstance(model, dict) else None
    return uri if isinstance(uri, str) else None


def metrics_open(pod_model: Any) -> bool:
    """An endpoint picker whose metrics port takes scrapes without a token (--metrics-endpoint-auth=false;
    GIE's default is on, and then no scraper of the security model can read it)."""
    values = [c.flag("--metrics-endpoint-auth") for c in getattr(pod_model, "containers", [])]
    return any(v is not None and v.lower() in ("false", "0") for v in values)


def needs_network(uri: str | None) -> bool:
    return uri is not None and uri.split("://", 1)[0].lower() in NETWORK_URI_SCHEMES and "://" in uri


def _ports(pod_model: Any) -> tuple[PortSpec, ...]:
    seen: dict[tuple[int, str], PortSpec] = {}
    for container in pod_model.containers:
        for p in container.ports:
            protocol = p.protocol or "TCP"
            if isinstance(p.number, int) and not isinstance(p.number, bool) and protocol in PROTOCOLS \
                    and (p.number, protocol) not in seen:
                name = p.name if isinstance(p.name, str) and p.name else None
                seen[(p.number, protocol)] = PortSpec(p.number, protocol, name)
    return tuple(sorted(seen.values(), key=lambda p: (p.number, p.protocol)))


def build_cluster(graph: Any) -> Cluster:
    """Namespaces, endpoints (graph pods + platform endpoints + probes) and parsed policies of ``graph``."""
    facts = facts_from(getattr(graph, "platform", None))
    namespaces = {name: Namespace(name, {k: v for k, v in info.labels.items()})
                  for name, info in graph.namespaces.items()}
    endpoints: list[Endpoint] = []
    taken: set[str] = set()
    last: dict[str, int] = {}
    for p in graph.pods:
        uri = model_uri(p)
        ports = _ports(p)
        if not ports and p.origin == "kserve" and p.role == "model-server":
            ports = (PortSpec(KSERVE_MODEL_PORT),)  # no template container: the preset's main serves 8000
        name = _unique(f"{p.namespace}/{p.name}", taken, last)  # two controllers may share a name
        endpoints.append(pod(p.namespace, name, p.labels, ports, role=_role(p),
                             source=p.source, attrs={"model_uri": uri, "origin": p.origin,
                                                     "metrics_open": metrics_open(p),
                                                     # one LeaderWorkerSet: the pods of one slice
                                                     "group": p.labels.get(LWS_NAME_LABEL)}))
    policies: list[Policy] = []
    bad: list[BadPolicy] = []
    for obj in graph.of_kind("NetworkPolicy", NETPOL_GROUP):
        try:
            policies.append(parse_policy(obj.obj, source=obj, default_namespace=obj.namespace or "default"))
        except PolicyError as exc:
            bad.append(BadPolicy(obj, str(exc), exc.path))
    endpoints.extend(_platform_endpoints(facts, namespaces))
    endpoints.extend(_istiod(graph, namespaces))
    endpoints.extend(provided_gateways(graph, facts, namespaces))
    for name in [*sorted(namespaces), OTHER_NAMESPACE]:
        namespaces.setdefault(name, Namespace(name))
        endpoints.append(pod(name, PROBE_NAME, {}, (), role="any-pod", synthetic=True))
    return Cluster(sorted(namespaces.values(), key=lambda n: n.name), endpoints, policies, facts, bad)


def _role(pod_model: Any) -> str:
    labels = pod_model.labels
    if PROBE_LABEL in labels:
        return PROBE_ROLE
    if all(labels.get(k) == v for k, v in SMOKE_POD_LABELS.items()):
        return "smoke"
    if labels.get("app.kubernetes.io/component") == BBR_COMPONENT:
        return "bbr"
    if labels.get("llm-d.ai/role") == "prefill" and pod_model.origin == "kserve":
        # the security model has no prefill/decode flows yet (decode -> prefill is needed, gateway -> prefill
        # is not): KServe's prefill pods are judged as any other workload
        return "other"
    return _GRAPH_ROLES.get(pod_model.role, "other")


def _unique(key: str, taken: set[str], last: dict[str, int] | None = None) -> str:
    """The pod's name, made unique within the cluster (``name``, ``name#2``...); records the key.

    ``last`` remembers the last suffix per key: a name shared by k controllers (copies in one tree) would
    otherwise probe 1..k each time, k^2/2 in all."""
    n = last.get(key, 1) if last is not None else 1
    candidate = key if n == 1 else f"{key}#{n}"
    while candidate in taken:
        n += 1
        candidate = f"{key}#{n}"
    taken.add(candidate)
    if last is not None:
        last[key] = n
    return candidate.split("/", 1)[1]


def _istiod(graph: Any, namespaces: dict[str, Namespace]) -> list[Endpoint]:
    """istiod of every sail-operator Istio in the output (its pods are the operator's, labels upstream's)."""
    out = []
    taken: set[str] = set()
    for obj in graph.of_kind("Istio", "sailoperator.io"):
        ns = obj.spec.get("namespace") if isinstance(obj.spec.get("namespace"), str) else "istio-system"
        namespaces.setdefault(ns, Namespace(ns))
        # parenthesized names cannot collide with real pods (not valid Kubernetes names)
        name = _unique(f"{ns}/(istiod of {obj.name})", taken)
        out.append(pod(ns, name, {"app": "istiod", "istio": "pilot"}, ISTIOD_PORTS,
                       role="istiod", synthetic=True, source=obj))
    return out


def referenced_gateways(graph: Any) -> dict[tuple[str, str], Any]:
    """Gateways (namespace, name) that routes (KServe-managed ones included) and LLMInferenceService
    ``router.gateway.refs`` attach to, with the first object naming each."""
    found: dict[tuple[str, str], Any] = {}
    for route in graph.of_kind("HTTPRoute", GATEWAY_GROUP, include_virtual=True):
        for ref in route.spec.get("parentRefs") or ():
            if not isinstance(ref, dict) or ref.get("kind", "Gateway") != "Gateway" \
                    or ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP \
                    or not isinstance(ref.get("name"), str):
                continue
            ns = ref.get("namespace") if isinstance(ref.get("namespace"), str) else route.namespace
            found.setdefault((ns or "default", ref["name"]), route.owner or route)
    for svc in graph.of_kind("LLMInferenceService", KSERVE_GROUP):
        router = svc.spec.get("router") if isinstance(svc.spec.get("router"), dict) else {}
        gateway = router.get("gateway") if isinstance(router.get("gateway"), dict) else {}
        for ref in gateway.get("refs") or ():
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                ns = ref.get("namespace") if isinstance(ref.get("namespace"), str) else svc.namespace
                found.setdefault((ns or "default", ref["name"]), svc)
    return found


def provided_gateways(graph: Any, facts: dict[str, Any], namespaces: dict[str, Namespace]) -> list[Endpoint]:
    """The pods of every referenced Gateway the tree does not contain (the platform's: KServe's
    ``router.gateway: {}`` attaches to the controller's default gateway, see ``kserve_ingress_gateway``).

    Their labels are what Istio's gateway deployment controller sets (``gateway.networking.k8s.io/
    gateway-name``), plus the platform fact ``gateway_pod_labels``; their namespace's labels are the tree's
    Namespace if it has one, else only ``kubernetes.io/metadata.name``. They are sources of required flows
    (gateway -> EPP, gateway -> vLLM) but no workload of the output (NP101 does not police their namespace).
    """
    out: list[Endpoint] = []
    extra = {str(k): str(v) for k, v in dict(facts.get("gateway_pod_labels") or {}).items()}
    for (ns, name), source in sorted(referenced_gateways(graph).items(), key=lambda kv: kv[0]):
        if graph.get("Gateway", ns, name, GATEWAY_GROUP) is not None:
            continue
        namespaces.setdefault(ns, Namespace(ns))
        labels = {GATEWAY_NAME_LABEL: name, **extra}
        # listener ports are unknown: the ones clients use (the smoke test calls 443)
        ports = (PortSpec(80, "TCP", "http"), PortSpec(443, "TCP", "https"),
                 PortSpec(15021, "TCP", "status-port"))
        out.append(pod(ns, f"(gateway {name}, not in the tree)", labels, ports, role="gateway",
                       synthetic=True, source=source, attrs={"origin": "provided", "provided": True}))
    return out


def _platform_endpoints(facts: dict[str, Any], namespaces: dict[str, Namespace]) -> list[Endpoint]:
    out: list[Endpoint] = []
    dns_ns, dns_labels = facts["dns_namespace"], facts["dns_pod_labels"]
    namespaces.setdefault(dns_ns, Namespace(dns_ns))
    out.append(pod(dns_ns, "(cluster DNS)", dns_labels,
                   (PortSpec(53, "UDP", "dns"), PortSpec(53, "TCP", "dns-tcp")), role="dns", synthetic=True))
    if facts["api_server_cidrs"]:
        out.append(external("api-server", facts["api_server_cidrs"],
                            tuple(PortSpec(p) for p in facts["api_server_ports"]), role="api-server"))
    out.append(external("internet", facts["model_download_cidrs"], (PortSpec(443),),
                        facts["model_download_except"], role="internet"))
    monitoring = facts["monitoring_namespace"]
    if monitoring:
        namespaces.setdefault(monitoring, Namespace(monitoring))
        out.append(pod(monitoring, "(metrics scraper)", facts["monitoring_pod_labels"], (), role="monitoring",
                       synthetic=True))
    return out
