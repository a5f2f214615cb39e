"""NetworkPolicies of one model namespace: default deny, then exactly the flows the stack needs.

Each allow names both ends by their real labels: the gateway pods by
namespace AND pod label, vLLM pods by `kserve.io/component: workload` (never by name alone: that also
matches the EPP), the EPP by the labels of whoever creates it, and destinations outside the cluster by
ipBlock (a namespaceSelector never matches the internet or GKE's API server). No peer admits every pod.
"""

from __future__ import annotations

import ipaddress
from functools import cache

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.bbr import BBR_GRPC_PORT
from infergate.charts.common import Chart, labels, meta
from infergate.charts.epp import GRPC_PORT
from infergate.charts.monitoring import scraper_ports

from infergate.netpol.cluster import SMOKE_POD_LABELS
from infergate.synth import multihost
from infergate.synth.config import Environment, Model

NS_LABEL = "kubernetes.io/metadata.name"


@cache  # one jsii round trip per port (range) and synth, not one per rule (bench/synth.py)
def _port(number: int, protocol: str = "TCP", end: int | None = None) -> k8s.NetworkPolicyPort:
    return k8s.NetworkPolicyPort(port=k8s.IntOrString.from_number(number), protocol=protocol, end_port=end)


def _ns_pods(namespace: str, pod_labels: dict[str, str] | None) -> k8s.NetworkPolicyPeer:
    return k8s.NetworkPolicyPeer(
        namespace_selector=k8s.LabelSelector(match_labels={NS_LABEL: namespace}),
        pod_selector=k8s.LabelSelector(match_labels=pod_labels) if pod_labels else None)


def _ip_blocks(cidrs: tuple[str, ...], except_: tuple[str, ...] = ()) -> list[k8s.NetworkPolicyPeer]:
    peers = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        inside = [e for e in except_ if ipaddress.ip_network(e) != net
                  and ipaddress.ip_network(e).subnet_of(net)]  # the API rejects excepts outside cidr
        peers.append(k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr=cidr, except_=inside or None)))
    return peers


ISTIOD_LABELS = {"app": "istiod"}
ISTIOD_XDS_PORT = 15012
ISTIOD_MONITORING_PORT = 15014
ISTIOD_WEBHOOK_PORT = 15017  # the Service's 443 lands here: the API server calls istiod's webhooks
GATEWAY_STATUS_PORT = 15021  # the load balancer's health check


# The KServe controller (odh-xks overlay) labels its pods so; its own NetworkPolicy admits all ingress
# (webhook calls from the API server), so in a default-deny namespace it only needs the API server.
KSERVE_CONTROLLER_LABELS = {"control-plane": "kserve-controller-manager"}
NOT_IN_DIST = "the KServe controller comes from the kserve Application (odh-xks overlay), not from dist/"


def policed_namespaces(env: Environment) -> list[str]:
    """The model namespaces, the gateway's (the seed left it open) and the mesh control plane's (istiod hands
    out every proxy's configuration and certificates: only the proxies and the API server may reach it)."""
    return sorted({*env.model_namespaces, env.gateway.namespace, env.mesh.namespace})


class NetworkPoliciesChart(Chart):
    WAVE = 1  # after the gateway whose pods they admit

    def __init__(self, scope: Construct, folder: str, namespace: str, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=namespace)
        self.ns, self.env = namespace, env
        self._policy("default-deny-all", {}, ingress=None, egress=None)
        plat = env.platform
        self._policy("allow-dns-egress", {}, egress=[k8s.NetworkPolicyEgressRule(
            to=[_ns_pods(plat.dns_namespace, plat.dns_pod_labels)],
            ports=[_port(53, "UDP"), _port(53, "TCP")])])
        if namespace == env.gateway.namespace:
            self._gateway()
        if namespace == env.mesh.namespace:
            self._istiod()
        if namespace == env.operators.kserve.namespace:
            self._policy("kserve-controller-manager-egress", KSERVE_CONTROLLER_LABELS, component="controller",
                         annotations={"ignore-check.infergate.io/NP104": NOT_IN_DIST},
                         egress=[k8s.NetworkPolicyEgressRule(
                             to=_ip_blocks(plat.api_server_cidrs),
                             ports=[_port(p) for p in plat.api_server_ports])])
        for model in env.models:
            if model.namespace == namespace:
                self._model(model)

    def _gateway(self) -> None:
        """The gateway is the public entry: clients in, xDS from istiod, out to model servers and EPPs."""
        env, gw = self.env, self.env.gateway
        listener_ports = [443] if gw.http == "off" else [443, 80]
        public = [_port(p) for p in [*listener_ports, GATEWAY_STATUS_PORT]]
        ingress = [k8s.NetworkPolicyIngressRule(from_=_ip_blocks(("0.0.0.0/0",)), ports=public)]
        if env.smoke.enabled and env.models:
            # the smoke Jobs by pod label (CNIs differ on pod traffic to ipBlocks); HTTPS only, out and in
            smoke = k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels=SMOKE_POD_LABELS))
            ingress.append(k8s.NetworkPolicyIngressRule(from_=[smoke], ports=[_port(443)]))
            self._policy("smoke-test-egress", SMOKE_POD_LABELS, component="smoke-test",
                         egress=[k8s.NetworkPolicyEgressRule(to=[_ns_pods(gw.namespace, gw.pod_labels)],
                                                             ports=[_port(443)])])
        self._policy(f"{gw.name}-ingress", gw.pod_labels, component="gateway", ingress=ingress)
        egress = [k8s.NetworkPolicyEgressRule(to=[_ns_pods(env.mesh.namespace, ISTIOD_LABELS)],
                                              ports=[_port(ISTIOD_XDS_PORT)])]
        for model in env.models:
            egress.append(k8s.NetworkPolicyEgressRule(to=[_ns_pods(model.namespace, model.workload_labels)],
                                                      ports=[_port(model.port)]))
            egress.append(k8s.NetworkPolicyEgressRule(
                to=[_ns_pods(model.namespace, model.scheduler_pod_labels)], ports=[_port(GRPC_PORT)]))
        if gw.shared_path:  # the Body-Based Router: in this namespace, called by the gateway only
            egress.append(k8s.NetworkPolicyEgressRule(
                to=[k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels=gw.bbr_pod_labels))],
                ports=[_port(BBR_GRPC_PORT)]))
            self._policy(f"{gw.bbr_name}-ingress", gw.bbr_pod_labels, component="body-based-router",
                         ingress=[k8s.NetworkPolicyIngressRule(from_=[_ns_pods(gw.namespace, gw.pod_labels)],
                                                               ports=[_port(BBR_GRPC_PORT)])])
            # its controller-runtime manager talks to the API server only
            self._policy(f"{gw.bbr_name}-egress", gw.bbr_pod_labels, component="body-based-router",
                         egress=[k8s.NetworkPolicyEgressRule(
                             to=_ip_blocks(env.platform.api_server_cidrs),
                             ports=[_port(p) for p in env.platform.api_server_ports])])
        self._policy(f"{gw.name}-egress", gw.pod_labels, component="gateway", egress=egress)

    def _istiod(self) -> None:
        """istiod: xDS from the gateway's proxies (no sidecars run in this stack), webhook calls from the API
        server, scrapes from the monitoring namespace; out only to the API server."""
        env, plat = self.env, self.env.platform
        ingress = [
            k8s.NetworkPolicyIngressRule(from_=[_ns_pods(env.gateway.namespace, env.gateway.pod_labels)],
                                         ports=[_port(ISTIOD_XDS_PORT)]),
            k8s.NetworkPolicyIngressRule(from_=_ip_blocks(plat.api_server_cidrs),
                                         ports=[_port(ISTIOD_WEBHOOK_PORT)]),
        ]
        scraper = scraper_peer(env)
        if scraper is not None:
            ingress.append(k8s.NetworkPolicyIngressRule(from_=[scraper],
                                                        ports=[_port(ISTIOD_MONITORING_PORT)]))
        self._policy("istiod-ingress", ISTIOD_LABELS, component="mesh", ingress=ingress)
        self._policy("istiod-egress", ISTIOD_LABELS, component="mesh", egress=[k8s.NetworkPolicyEgressRule(
            to=_ip_blocks(plat.api_server_cidrs), ports=[_port(p) for p in plat.api_server_ports])])

    def _policy(self, name: str, selector: dict[str, str], *,
                ingress: list[k8s.NetworkPolicyIngressRule] | None = None,
                egress: list[k8s.NetworkPolicyEgressRule] | None = None, types: list[str] | None = None,
                component: str = "default", annotations: dict[str, str] | None = None) -> None:
        policy_types = types or [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules] \
            or ["Ingress", "Egress"]
        k8s.KubeNetworkPolicy(self, name, metadata=meta(name, self.ns, labels(name, component, "infergate"),
                                                        annotations),
                              spec=k8s.NetworkPolicySpec(
                                  pod_selector=k8s.LabelSelector(match_labels=selector or None),
                                  policy_types=policy_types, ingress=ingress, egress=egress))

    def _model(self, model: Model) -> None:
        env, plat = self.env, self.env.platform
        gateway_pods = _ns_pods(env.gateway.namespace, env.gateway.pod_labels)
        epp_pods = k8s.NetworkPolicyPeer(
            pod_selector=k8s.LabelSelector(match_labels=model.scheduler_pod_labels))
        vllm_pods = k8s.NetworkPolicyPeer(
            pod_selector=k8s.LabelSelector(match_labels=model.workload_labels))
        port = _port(model.port)
        vllm_from = [gateway_pods, epp_pods]  # requests from the gateway; metrics scrapes from the EPP
        self._policy(f"{model.name}-vllm-ingress", model.workload_labels, component="model-server",
                     ingress=[k8s.NetworkPolicyIngressRule(from_=vllm_from, ports=[port]),
                              *scrape_rules(env, model, "vllm")])
        # model download (storage initializer and vLLM) over HTTPS only
        self._policy(f"{model.name}-vllm-egress", model.workload_labels, component="model-server",
                     egress=[k8s.NetworkPolicyEgressRule(
                         to=_ip_blocks(plat.model_download_cidrs, plat.model_download_except),
                         ports=[_port(443)])])
        epp_in = [k8s.NetworkPolicyIngressRule(from_=[gateway_pods], ports=[_port(GRPC_PORT)]),
                  *scrape_rules(env, model, "epp")]
        self._policy(f"{model.name}-epp-ingress", model.scheduler_pod_labels, component="endpoint-picker",
                     ingress=epp_in)
        self._policy(f"{model.name}-epp-egress", model.scheduler_pod_labels, component="endpoint-picker",
                     egress=[
                         k8s.NetworkPolicyEgressRule(to=[vllm_pods], ports=[port]),
                         # the EPP watches pods and pools: the API server is not a pod on GKE
                         k8s.NetworkPolicyEgressRule(to=_ip_blocks(plat.api_server_cidrs),
                                                     ports=[_port(p) for p in plat.api_server_ports]),
                     ])
        if multihost.multi_host(model):
            self._slice(model)

    def _slice(self, model: Model) -> None:
        """The hosts of a multi-host slice (one LeaderWorkerSet) reach each other on the runtime's ports.

        Pods are named by the LWS controller's set label (leader and workers carry it); the Ray head's GCS
        port by the leader's KServe component as well. Ports and their sources: infergate/synth/multihost.py.
        """
        plat = self.env.platform
        group = multihost.group_selector(model.name)
        leader = {**group, "app.kubernetes.io/component": multihost.LEADER_COMPONENT}
        members = k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels=group))
        every_host = [_port(p.number, end=p.end) for p in multihost.GROUP_PORTS if not p.leader_only]
        head = [_port(p.number, end=p.end) for p in multihost.GROUP_PORTS if p.leader_only]
        self._policy(f"{model.name}-slice-ingress", group, component="model-server",
                     ingress=[k8s.NetworkPolicyIngressRule(from_=[members], ports=every_host)])
        self._policy(f"{model.name}-ray-head-ingress", leader, component="model-server",
                     ingress=[k8s.NetworkPolicyIngressRule(from_=[members], ports=head)])
        self._policy(f"{model.name}-slice-egress", group, component="model-server", egress=[
            k8s.NetworkPolicyEgressRule(to=[members], ports=every_host),
            k8s.NetworkPolicyEgressRule(
                to=[k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels=leader))], ports=head),
            # every host runs KServe's storage initializer: the model download, over HTTPS only
            k8s.NetworkPolicyEgressRule(to=_ip_blocks(plat.model_download_cidrs, plat.model_download_except),
                                        ports=[_port(443)]),
        ])


# --- metrics scraping (environment `monitoring:`) ---------------------------------------------------------
def scraper_peer(env: Environment) -> k8s.NetworkPolicyPeer | None:
    """The scraper's pods (namespace AND pod labels), or None when monitoring is off."""
    mon = env.monitoring
    if not mon.enabled or mon.namespace is None:
        return None
    return _ns_pods(mon.namespace, mon.pod_labels)


def scrape_rules(env: Environment, model: Model, target: str) -> list[k8s.NetworkPolicyIngressRule]:
    """The scraper in, on exactly the ports a monitor of charts/monitoring.py scrapes on ``target``'s pods."""
    peer, ports = scraper_peer(env), scraper_ports(env, model)[target]
    if peer is None or not ports:
        return []
    return [k8s.NetworkPolicyIngressRule(from_=[peer], ports=[_port(p) for p in ports])]
