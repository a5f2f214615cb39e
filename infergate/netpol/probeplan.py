"""The isolation probes of one environment: the security model's flows that a pod can exercise, made concrete.

One source for both ends: charts/probes.py turns this plan into Jobs, and `infergate flows --probes` puts the
same plan next to the static verdicts of the output's NetworkPolicies. A probe is one Job per (flow, source
pod kind): its pod wears that source's labels in that source's namespace, so the policies treat it as the
role it imitates, and it checks TCP connects to every destination of the flow (Service names, the
cluster DNS, the API server's address, the model hub) that must connect (required) or fail (forbidden).

Not exercised: UDP (no connect to observe), sources that no pod should imitate (istiod and the DNS pods:
a pod wearing their labels would join their Services), destinations with no address to aim at (an
API server range wider than one address, a model URI scheme without a known host). The node metadata
server is probed from every model server (lint rule NP108's flow: it is no role of the matrix).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from infergate.netpol.cluster import DEFAULTS, SMOKE_POD_LABELS, needs_network
from infergate.netpol.security_model import ANY_PORT, FlowSpec, SecurityModel
from infergate.netpol.tcpprobe import NAMESERVER
from infergate.synth.config import Environment, Model

METADATA_FLOW = "model-server-to-metadata-server"  # NP108's flow, not in the security model
ISTIOD_SERVICE = "istiod"
# Model URI scheme -> the host the storage initializer downloads from.
DOWNLOAD_HOSTS = {"hf": "huggingface.co"}
JOB_NAME_MAX = 63


@dataclass(frozen=True, slots=True)
class Place:
    """One pod kind of a role: where it runs and the labels that make the policies see it as that role."""

    role: str
    namespace: str | None  # None: not a pod (api-server, internet, metadata server)
    labels: dict[str, str]
    host: str = ""  # what a probe connects to when this is the destination
    ports: tuple[int, ...] = ()
    model: Model | None = None  # the model this pod serves (model-server)


@dataclass(frozen=True, slots=True)
class Target:
    place: Place
    port: int

    @property
    def host(self) -> str:
        return self.place.host


@dataclass(frozen=True, slots=True)
class Probe:
    name: str  # the Job's name
    flow: str  # a security-model id, or METADATA_FLOW
    kind: str  # required | forbidden
    source: Place
    expect: str  # connect | blocked
    targets: tuple[Target, ...]


def _svc(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


def _single_address(cidrs: tuple[str, ...]) -> str | None:
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.num_addresses == 1:
            return str(net.network_address)
    return None


def places(env: Environment) -> dict[str, list[Place]]:
    """Every pod kind and external destination of the environment, by role."""
    gw = env.gateway
    listener_ports = (443,) if gw.http == "off" else (443, 80)
    out: dict[str, list[Place]] = {
        "gateway": [Place("gateway", gw.namespace, gw.pod_labels,
                          _svc(f"{gw.name}-{gw.class_name}", gw.namespace), listener_ports)],
        "epp": [], "model-server": [],
        "smoke": [Place("smoke", gw.namespace, dict(SMOKE_POD_LABELS))] if env.smoke.enabled else [],
        "any-pod": [Place("any-pod", ns, {}) for ns in sorted({*env.model_namespaces, gw.namespace})],
        "istiod": [Place("istiod", env.mesh.namespace, {"app": "istiod"},
                         _svc(ISTIOD_SERVICE, env.mesh.namespace), (15010, 15012, 15014, 15017))],
        "dns": [Place("dns", env.platform.dns_namespace, env.platform.dns_pod_labels, NAMESERVER, (53,))],
    }
    for m in env.models:
        epp_service = m.epp_name if m.router == "explicit" else f"{m.name}-epp-service"
        out["epp"].append(Place("epp", m.namespace, m.scheduler_pod_labels, _svc(epp_service, m.namespace),
                                (9002,), m))
        out["model-server"].append(Place("model-server", m.namespace, m.workload_labels,
                                         _svc(f"{m.name}-kserve-workload-svc", m.namespace), (m.port,), m))
    api = _single_address(env.platform.api_server_cidrs)
    out["api-server"] = [Place("api-server", None, {}, api, env.platform.api_server_ports)] if api else []
    return out


# Roles a probe pod may imitate: the stack's own pods and an unlabelled pod.
SOURCE_ROLES = ("gateway", "epp", "model-server", "smoke", "any-pod")


def _targets(spec: FlowSpec, source: Place, dests: list[Place]) -> list[Target]:
    out: list[Target] = []
    for dest in dests:
        if spec.scope == "namespace" and dest.namespace != source.namespace:
            continue
        ports = [p for p in spec.ports if p != ANY_PORT and p[1] == "TCP"]  # type: ignore[index]
        numbers = [p[0] for p in ports] if ANY_PORT not in spec.ports else list(dest.ports)  # type: ignore[index]
        if spec.match == "any":
            numbers = numbers[:1]
        out += [Target(dest, n) for n in numbers]
    return out


def _download(source: Place) -> list[Place]:
    uri = source.model.uri if source.model else ""
    host = DOWNLOAD_HOSTS.get(uri.split("://", 1)[0]) if "://" in uri else None
    return [Place("internet", None, {}, host, (443,))] if host else []


def plan(env: Environment, model: SecurityModel) -> list[Probe]:
    """Every probe of ``env``, in the security model's order (required first), deterministic names."""
    found = places(env)
    probes: list[Probe] = []

    def add(flow: str, kind: str, source: Place, targets: list[Target]) -> None:
        if not targets:
            return
        index = sum(1 for p in probes if p.flow == flow) + 1
        name = f"probe-{flow}-{index}"
        if len(name) > JOB_NAME_MAX:
            name = f"probe-{index}-{flow}"[:JOB_NAME_MAX].rstrip("-")
        probes.append(Probe(name, flow, kind, source, "connect" if kind == "required" else "blocked",
                            tuple(targets)))

    for kind, specs in (("required", model.required), ("forbidden", model.forbidden)):
        for spec in specs:
            for role in (r for r in SOURCE_ROLES if r in spec.sources):
                for source in found.get(role, []):
                    if spec.when == "model-uri-needs-network" \
                            and not needs_network(source.model.uri if source.model else None):
                        continue  # (metrics-open concerns the scraper, which no probe imitates)
                    dests = _download(source) if spec.to == "internet" else found.get(spec.to, [])
                    add(spec.id, kind, source, _targets(spec, source, dests))
    metadata = _single_address(tuple(DEFAULTS["metadata_server_cidrs"]))
    if metadata:
        server = Place("metadata-server", None, {}, metadata, tuple(DEFAULTS["metadata_server_ports"]))
        for source in found["model-server"]:
            add(METADATA_FLOW, "forbidden", source, [Target(server, p) for p in server.ports])
    return probes


def probe_namespaces(probes: list[Probe]) -> list[str]:
    return sorted({p.source.namespace for p in probes if p.source.namespace})
