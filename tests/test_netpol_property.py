"""Property test: the bitset evaluator agrees with a naive pod-by-pod reference on random clusters.

The reference below is written straight from the networking.k8s.io/v1 documentation, reads the raw
policy dicts (so parsing and API defaults are checked too), shares no code with infergate.netpol and
does addresses as integer intervals instead of ipaddress networks.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infergate.netpol.evaluate import Evaluator
from infergate.netpol.model import Namespace, PortSpec, external, pod
from infergate.netpol.policy import parse_policy

Interval = tuple[int, int, int]  # (ip version, first, last)
def _interval(cidr: str) -> Interval:
    net = ipaddress.ip_network(cidr, strict=False)
    return (net.version, int(net.network_address), int(net.broadcast_address))


def _minus(spans: list[Interval], cut: Interval) -> list[Interval]:
    out = []
    for v, lo, hi in spans:
        if v != cut[0] or cut[2] < lo or cut[1] > hi:
            out.append((v, lo, hi))
            continue
        if lo < cut[1]:
            out.append((v, lo, cut[1] - 1))
        if cut[2] < hi:
            out.append((v, cut[2] + 1, hi))
    return out


def addresses(cidrs: list[str], excepts: list[str]) -> list[Interval]:
    spans = [_interval(c) for c in cidrs]
    for e in excepts:
        spans = _minus(spans, _interval(e))
    return spans


def block_admits(block: dict, spans: list[Interval]) -> bool:
    """Every address in spans is in block.cidr and in no block.except."""
    if not spans:
        return False
    allowed = addresses([block["cidr"]], block.get("except") or [])
    for v, lo, hi in spans:
        # the span must be covered by the union of allowed intervals (they are disjoint and sorted)
        pos = lo
        for av, alo, ahi in sorted(allowed):
            if av != v or ahi < pos or alo > pos:
                continue
            pos = ahi + 1
            if pos > hi:
                break
        if pos <= hi:
            return False
    return True


def selector_matches(sel: dict | None, labels: dict) -> bool:
    sel = sel or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in sel.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Reference:
    def __init__(self, namespaces: dict[str, dict], endpoints: list[dict], policies: list[dict],
                 pod_cidrs: list[str]) -> None:
        self.ns_labels = {n: {**labels, "kubernetes.io/metadata.name": n} for n, labels in namespaces.items()}
        self.endpoints = endpoints
        self.policies = policies
        self.pod_spans = addresses(pod_cidrs, [])

    def _types(self, pol: dict) -> list[str]:
        spec = pol["spec"]
        if spec.get("policyTypes"):
            return spec["policyTypes"]
        return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]

    def _selects(self, pol: dict, ep: dict, direction: str) -> bool:
        return (ep.get("namespace") is not None and pol["metadata"]["namespace"] == ep["namespace"]
                and direction in self._types(pol)
                and selector_matches(pol["spec"]["podSelector"], ep["labels"]))

    def _peer_matches(self, peer: dict, pol_ns: str, ep: dict) -> bool:
        if "ipBlock" in peer:
            is_pod = ep.get("namespace") is not None
            spans = self.pod_spans if is_pod else addresses(ep["cidrs"], ep["excepts"])
            return block_admits(peer["ipBlock"], spans)
        if ep.get("namespace") is None:
            return False
        # null selectors are unset (the API's fields are pointers)
        if peer.get("namespaceSelector") is not None:
            ns_labels = self.ns_labels.get(ep["namespace"], {"kubernetes.io/metadata.name": ep["namespace"]})
            if not selector_matches(peer["namespaceSelector"], ns_labels):
                return False
        elif ep["namespace"] != pol_ns:
            return False
        return peer.get("podSelector") is None or selector_matches(peer["podSelector"], ep["labels"])

    @staticmethod
    def _port_matches(ports: list | None, dst: dict, number: int, proto: str) -> bool:
        if not ports:
            return True
        for p in ports:
            if p.get("protocol", "TCP") != proto:
                continue
            port = p.get("port")
            if port is None:
                return True
            if isinstance(port, int):
                end = p.get("endPort", port)
                if port <= number <= end:
                    return True
            elif dst.get("namespace") is not None:
                for name, num, pr in dst["ports"]:
                    if name == port and num == number and pr == proto:
                        return True
        return False

    def _side(self, me: dict, other: dict, dst: dict, number: int, proto: str, direction: str) -> bool:
        key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [p for p in self.policies if self._selects(p, me, direction)]
        if not selecting:
            return True
        for pol in selecting:
            for rule in pol["spec"].get(key) or []:
                peers = rule.get(peer_key) or []
                pol_ns = pol["metadata"]["namespace"]
                if peers and not any(self._peer_matches(pr, pol_ns, other) for pr in peers):
                    continue
                if self._port_matches(rule.get("ports"), dst, number, proto):
                    return True
        return False

    def allowed(self, src: dict, dst: dict, number: int, proto: str) -> bool:
        return (self._side(src, dst, dst, number, proto, "Egress")
                and self._side(dst, src, dst, number, proto, "Ingress"))


def as_dict(ep: Any) -> dict:
    """An infergate Endpoint as the plain dict the reference reads."""
    return {"namespace": ep.namespace, "labels": dict(ep.labels), "cidrs": list(ep.cidrs),
            "excepts": list(ep.excepts), "ports": [(p.name, p.number, p.protocol) for p in ep.ports]}


# --- random clusters ------------------------------------------------------------------------------
KEYS = ("app", "tier", "team")
VALUES = ("a", "b", "c")
NAMESPACES = ("n1", "n2", "n3")
PORT_NAMES = ("http", "grpc", "dns")
PORTS = ((53, "UDP"), (53, "TCP"), (80, "TCP"), (443, "TCP"), (8000, "TCP"), (9002, "TCP"), (9003, "TCP"),
         (8000, "UDP"))
CIDRS = ("10.0.0.0/8", "10.8.0.0/14", "10.8.0.0/16", "172.16.0.2/32", "0.0.0.0/0", "192.168.0.0/16",
         "34.0.0.0/8", "::/0", "fd00::/8")

labels_st = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)
port_st = st.tuples(st.sampled_from((*PORT_NAMES, None)), st.sampled_from(PORTS))


def _expr() -> st.SearchStrategy[dict]:
    with_values = st.builds(lambda k, op, vs: {"key": k, "operator": op, "values": sorted(vs)},
                            st.sampled_from(KEYS), st.sampled_from(("In", "NotIn")),
                            st.sets(st.sampled_from(VALUES), min_size=1, max_size=2))
    without = st.builds(lambda k, op: {"key": k, "operator": op},
                        st.sampled_from(KEYS), st.sampled_from(("Exists", "DoesNotExist")))
    return with_values | without


selector_st = st.builds(
    lambda ml, ex: {**({"matchLabels": ml} if ml is not None else {}),
                    **({"matchExpressions": ex} if ex is not None else {})},
    st.none() | st.dictionaries(st.sampled_from((*KEYS, "kubernetes.io/metadata.name")),
                                st.sampled_from((*VALUES, *NAMESPACES)), max_size=2),
    st.none() | st.lists(_expr(), max_size=2))


@st.composite
def ip_block_st(draw: Any) -> dict:
    cidr = draw(st.sampled_from(CIDRS))
    net = ipaddress.ip_network(cidr)
    inside = [c for c in CIDRS if ipaddress.ip_network(c).version == net.version
              and ipaddress.ip_network(c).subnet_of(net) and c != cidr]
    excepts = draw(st.lists(st.sampled_from(inside), max_size=2, unique=True)) if inside else []
    return {"cidr": cidr, **({"except": excepts} if excepts else {})}


peer_st = (st.builds(lambda s: {"podSelector": s}, selector_st)
           | st.builds(lambda s: {"namespaceSelector": s}, selector_st)
           | st.builds(lambda a, b: {"namespaceSelector": a, "podSelector": b}, selector_st, selector_st)
           | st.builds(lambda a: {"namespaceSelector": None, "podSelector": a}, selector_st)
           | st.builds(lambda b: {"ipBlock": b}, ip_block_st()))


@st.composite
def policy_port_st(draw: Any) -> dict:
    out: dict[str, Any] = {}
    proto = draw(st.sampled_from((None, "TCP", "UDP")))
    if proto:
        out["protocol"] = proto
    kind = draw(st.sampled_from(("none", "number", "range", "range", "name", "name")))
    if kind == "number":
        out["port"] = draw(st.sampled_from((53, 80, 8000, 9002)))
    elif kind == "range":
        out["port"] = draw(st.sampled_from((53, 80, 8000, 9002)))
        out["endPort"] = out["port"] + draw(st.sampled_from((0, 1, 400, 5000)))
    elif kind == "name":
        out["port"] = draw(st.sampled_from(PORT_NAMES))
    return out


@st.composite
def rule_st(draw: Any, peer_key: str) -> dict:
    # absent and empty lists both mean "all"; keep them rarer than real lists so rules discriminate
    rule: dict[str, Any] = {}
    shape = draw(st.sampled_from(("absent", "empty", "list", "list", "list")))
    if shape != "absent":
        rule[peer_key] = draw(st.lists(peer_st, min_size=1, max_size=3)) if shape == "list" else []
    shape = draw(st.sampled_from(("absent", "empty", "list", "list", "list")))
    if shape != "absent":
        rule["ports"] = draw(st.lists(policy_port_st(), min_size=1, max_size=2)) if shape == "list" else []
    return rule


@st.composite
def policy_st(draw: Any, index: int) -> dict:
    spec: dict[str, Any] = {"podSelector": draw(st.just({}) | selector_st)}
    types = draw(st.sampled_from((None, [], ["Ingress"], ["Egress"], ["Ingress", "Egress"])))
    if types is not None:
        spec["policyTypes"] = types
    for key, peer_key in (("ingress", "from"), ("egress", "to")):
        rules = draw(st.none() | st.lists(rule_st(peer_key), max_size=3))
        if rules is not None:
            spec[key] = rules
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"p{index}", "namespace": draw(st.sampled_from(NAMESPACES[:2]))},
            "spec": spec}


@st.composite
def cluster_st(draw: Any) -> tuple:
    namespaces = {n: draw(labels_st) for n in NAMESPACES if draw(st.booleans())}
    endpoints = []
    for i in range(draw(st.integers(2, 7))):
        ports = {}
        for name, (number, proto) in draw(st.lists(port_st, max_size=3)):
            if name is not None and any(p.name == name for p in ports.values()):
                name = None  # container port names are unique within a pod
            ports[(number, proto)] = PortSpec(number, proto, name)
        endpoints.append(pod(draw(st.sampled_from(NAMESPACES[:2])), f"pod{i}", draw(labels_st),
                             tuple(ports.values())))
    for i in range(draw(st.integers(0, 2))):
        cidrs = draw(st.lists(st.sampled_from(CIDRS), min_size=1, max_size=2, unique=True))
        excepts = draw(st.lists(st.sampled_from(CIDRS), max_size=1))
        ports = (PortSpec(443, "TCP", "http"), PortSpec(53, "UDP", "dns"), PortSpec(80))
        endpoints.append(external(f"ext{i}", cidrs, ports, excepts))
    policies = [draw(policy_st(i)) for i in range(draw(st.integers(1, 6)))]
    pod_cidrs = draw(st.lists(st.sampled_from(CIDRS[:3]), min_size=1, max_size=2, unique=True))
    return namespaces, endpoints, policies, pod_cidrs


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cluster_st())
def test_evaluator_matches_pod_by_pod_reference(cluster: tuple) -> None:
    namespaces, endpoints, raw_policies, pod_cidrs = cluster
    ev = Evaluator([Namespace(n, labels) for n, labels in namespaces.items()], endpoints,
                   [parse_policy(p) for p in raw_policies], pod_cidrs)
    ref = Reference(namespaces, [as_dict(e) for e in endpoints], raw_policies, pod_cidrs)
    for d, dst in enumerate(endpoints):
        for number, proto in PORTS:
            fast = ev.allowed_sources(d, number, proto)
            for s, src in enumerate(endpoints):
                expected = ref.allowed(as_dict(src), as_dict(dst), number, proto)
                assert bool((fast >> s) & 1) == expected, (src.key, dst.key, number, proto)
                assert ev.explain(src.key, dst.key, number, proto).allowed == expected


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cluster_st(), st.lists(st.sampled_from(("gateway", "epp", "model-server", "other")), min_size=7,
                              max_size=7))
def test_matrix_counts_every_pod_pair(cluster: tuple, roles: list[str]) -> None:
    """Each matrix cell's allowed/total pair counts equal a pair-by-pair count with the reference."""
    from dataclasses import replace

    from infergate.netpol.cluster import Cluster
    from infergate.netpol.flows import matrix

    namespaces, endpoints, raw_policies, pod_cidrs = cluster
    endpoints = [replace(e, role=roles[i] if e.is_pod else "internet") for i, e in enumerate(endpoints)]
    nss = [Namespace(n, labels) for n, labels in namespaces.items()]
    cells = matrix(Cluster(nss, endpoints, [parse_policy(p) for p in raw_policies], {"pod_cidrs": pod_cidrs}))
    ref = Reference(namespaces, [as_dict(e) for e in endpoints], raw_policies, pod_cidrs)
    expected: dict[tuple, list[int]] = {}
    for dst in endpoints:
        for port in dst.ports:
            for src in endpoints:
                key = (src.role, dst.role, port.number, port.protocol)
                counts = expected.setdefault(key, [0, 0])
                counts[0] += ref.allowed(as_dict(src), as_dict(dst), port.number, port.protocol)
                counts[1] += 1
    assert {(c.source, c.destination, c.port, c.protocol): [c.allowed, c.pairs] for c in cells} == expected
