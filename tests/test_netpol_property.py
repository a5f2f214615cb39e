"""Property test: the bitset evaluator agrees with a naive pod-by-pod reference on random clusters.

The reference below is written straight from the networking.k8s.io/v1 documentation, reads the raw
policy dicts (so parsing and API defaults are checked too), shares no code with infergate.netpol and
does addresses as integer intervals instead of ipaddress networks.
"""

from __future__ import annotations

import ipaddress
import itertools
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


def share(allowed: list[Interval], target: list[Interval]) -> str:
    """How much of ``target`` lies in ``allowed`` ("all", "some", "none"), by cutting both into elementary
    segments at every boundary and summing sizes (overlapping inputs are fine)."""
    points = sorted({(v, x) for v, lo, hi in (*allowed, *target) for x in (lo, hi + 1)})
    total = inside = 0
    for (v, a), (w, b) in itertools.pairwise(points):
        if v != w:
            continue

        def within(spans: list[Interval], v: int = v, a: int = a) -> bool:
            return any(sv == v and lo <= a <= hi for sv, lo, hi in spans)

        if within(target):
            total += b - a
            inside += (b - a) if within(allowed) else 0
    if total and inside == total:
        return "all"
    return "some" if inside else "none"


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
        """Selector peers only (ipBlocks are judged on the union of a side's blocks, in ``_side``)."""
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

    def _side(self, me: dict, other: dict, dst: dict, number: int, proto: str, direction: str) -> str:
        key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [p for p in self.policies if self._selects(p, me, direction)]
        if not selecting:
            return "allowed"
        admitted: list[Interval] = []  # every address the applicable ipBlocks admit, over all rules
        for pol in selecting:
            for rule in pol["spec"].get(key) or []:
                if not self._port_matches(rule.get("ports"), dst, number, proto):
                    continue
                peers = rule.get(peer_key) or []
                pol_ns = pol["metadata"]["namespace"]
                if not peers or any(pr.get("ipBlock") is None and self._peer_matches(pr, pol_ns, other)
                                    for pr in peers):
                    return "allowed"
                for pr in peers:
                    if pr.get("ipBlock") is not None:
                        admitted += addresses([pr["ipBlock"]["cidr"]], pr["ipBlock"].get("except") or [])
        is_pod = other.get("namespace") is not None
        spans = self.pod_spans if is_pod else addresses(other["cidrs"], other["excepts"])
        return {"all": "allowed", "some": "partial", "none": "denied"}[share(admitted, spans)]

    def status(self, src: dict, dst: dict, number: int, proto: str) -> str:
        sides = (self._side(src, dst, dst, number, proto, "Egress"),
                 self._side(dst, src, dst, number, proto, "Ingress"))
        if "denied" in sides:
            return "denied"
        return "allowed" if sides == ("allowed", "allowed") else "partial"

    def allowed(self, src: dict, dst: dict, number: int, proto: str) -> bool:
        return self.status(src, dst, number, proto) == "allowed"


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
# halves of ranges, so that unions of blocks (across peers, rules and policies) cover what no block does
CIDRS = ("10.0.0.0/8", "10.8.0.0/14", "10.8.0.0/16", "172.16.0.2/32", "0.0.0.0/0", "192.168.0.0/16",
         "34.0.0.0/8", "::/0", "fd00::/8", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/9", "10.128.0.0/9")

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
            full, some = ev.reach(d, number, proto)
            for s, src in enumerate(endpoints):
                expected = ref.status(as_dict(src), as_dict(dst), number, proto)
                fast = "allowed" if (full >> s) & 1 else "partial" if (some >> s) & 1 else "denied"
                assert fast == expected, (src.key, dst.key, number, proto)
                assert ev.explain(src.key, dst.key, number, proto).status == expected


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
                counts = expected.setdefault(key, [0, 0, 0])
                status = ref.status(as_dict(src), as_dict(dst), port.number, port.protocol)
                counts[0] += status == "allowed"
                counts[1] += 1
                counts[2] += status == "partial"
    assert {(c.source, c.destination, c.port, c.protocol): [c.allowed, c.pairs, c.partial]
            for c in cells} == expected


# --- ipBlock unions against an address-by-address reference -----------------------------------------
# Every CIDR lies in 10.0.0.0/24 with a prefix of /24 or longer, so a set has at most 256 addresses.
BASE = int(ipaddress.ip_address("10.0.0.0"))


@st.composite
def small_cidr_st(draw: Any, within: tuple[int, int] = (BASE, 24), strict: bool = False) -> tuple[int, int]:
    """(first address, prefix length) of a CIDR inside ``within`` (strictly: an ipBlock's except)."""
    start, prefix = within
    length = draw(st.integers(prefix + 1 if strict else prefix, 32))
    offset = draw(st.integers(0, (1 << (length - prefix)) - 1)) << (32 - length)
    return start + offset, length


def _text(cidr: tuple[int, int]) -> str:
    return f"{ipaddress.ip_address(cidr[0])}/{cidr[1]}"


def _enumerate(cidr: tuple[int, int]) -> set[int]:
    return set(range(cidr[0], cidr[0] + (1 << (32 - cidr[1]))))


@st.composite
def small_block_st(draw: Any) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    cidr = draw(small_cidr_st())
    excepts = draw(st.lists(small_cidr_st(cidr, strict=True), max_size=2)) if cidr[1] < 32 else []
    return cidr, excepts


def _expected(blocks: list, target: list[tuple[int, int]], cut: list[tuple[int, int]]) -> str:
    admitted: set[int] = set()
    for cidr, excepts in blocks:
        admitted |= _enumerate(cidr) - set().union(*map(_enumerate, excepts))
    wanted = set().union(*map(_enumerate, target)) - set().union(*map(_enumerate, cut))
    if wanted and wanted <= admitted:
        return "allowed"
    return "partial" if wanted & admitted else "denied"


def _halves(block: tuple) -> list[tuple]:
    """The same addresses as two blocks, the CIDR's halves (an except equal to a half drops that half)."""
    (start, prefix), excepts = block
    out = []
    for half in ((start, prefix + 1), (start + (1 << (31 - prefix)), prefix + 1)):
        inside = [e for e in excepts if _enumerate(e) <= _enumerate(half)]
        if half not in inside:
            out.append((half, inside))
    return out


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(small_block_st(), min_size=1, max_size=4), st.lists(small_cidr_st(), min_size=1, max_size=2),
       st.lists(small_cidr_st(), max_size=1), st.integers(0, 2), st.integers(0, 2), st.booleans(),
       st.booleans())
def test_ip_blocks_decide_on_their_union(blocks: list, target: list, cut: list, split: int, across: int,
                                         halve: bool, aim: bool) -> None:
    """The union of ipBlocks (in one peer list, across rules, across policies) against an address set is
    allowed/partial/denied exactly as enumerating the addresses says, for egress to an external endpoint and
    for ingress from pods (the pod CIDR is the address set)."""
    if aim:  # the target is the first block's range: coverage then hinges on the union
        target = [blocks[0][0]]
    if halve and blocks[0][0][1] < 32:  # no single block covers what the first one did
        blocks = [*_halves(blocks[0]), *blocks[1:]] or blocks
    expected = _expected(blocks, target, cut)
    peers = [{"ipBlock": {"cidr": _text(c), **({"except": [_text(e) for e in ex]} if ex else {})}}
             for c, ex in blocks]
    # spread the peers over rules (split) and policies (across): the verdict must not depend on it
    groups: list[list[dict]] = [[], [], []]
    for i, peer in enumerate(peers):
        groups[(i * split) % 3 if split else 0].append(peer)
    rules = [g for g in groups if g]

    def policies(direction: str, selector: dict) -> list:
        key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        out = []
        for i, group in enumerate(rules):
            name = f"p{i % (across + 1)}-{i}"
            out.append(parse_policy({"metadata": {"name": name, "namespace": "n1"}, "spec": {
                "podSelector": selector, "policyTypes": [direction],
                key: [{peer_key: group, "ports": [{"port": 80}]}]}}))
        return out

    src = pod("n1", "src", {"app": "src"})
    dst = pod("n1", "dst", {"app": "dst"}, [PortSpec(80)])
    ext = external("ext", [_text(c) for c in target], [PortSpec(80)], [_text(c) for c in cut])
    egress = Evaluator([Namespace("n1")], [src, ext], policies("Egress", {"matchLabels": {"app": "src"}}))
    assert egress.status(src.key, ext.key, 80) == expected
    assert egress.explain(src.key, ext.key, 80).status == expected
    if not cut:  # the pod CIDR has no exceptions
        isolated = policies("Ingress", {"matchLabels": {"app": "dst"}})
        ingress = Evaluator([Namespace("n1")], [src, dst], isolated, [_text(c) for c in target])
        assert ingress.status(src.key, dst.key, 80) == expected
        assert ingress.explain(src.key, dst.key, 80).status == expected


# --- required flows: the bitset check against pair-by-pair -------------------------------------------
def _pairwise_required(cluster: Any, spec: Any) -> list[tuple]:
    """The required-flow violations found by asking the evaluator about every (source, destination) pair."""
    from infergate.netpol.flows import _applies, _ports_of

    ev = cluster.evaluator
    sources = [e for e in cluster.endpoints
               if e.role in spec.sources and not e.synthetic and _applies(spec, e)]
    dests = [e for e in cluster.endpoints if e.role == spec.to]
    found: list[tuple] = []
    if not dests:
        return found

    def near(a: Any, b: Any) -> bool:
        return spec.scope != "namespace" or a.namespace == b.namespace

    def results(src: Any, dst: Any) -> list[tuple[tuple[int, str], bool]]:
        return [(p, ev.allowed(src.key, dst.key, *p)) for p in _ports_of(spec, dst)]

    def good(src: Any, dst: Any) -> bool:
        r = [ok for _, ok in results(src, dst)]
        return bool(r) and (any(r) if spec.match == "any" else all(r))

    def bad_port(src: Any, dst: Any) -> tuple[int, str] | None:
        r = results(src, dst)
        return next((p for p, ok in r if not ok), r[0][0] if r else None)

    if "source" in spec.each:
        for src in sources:
            scoped = [d for d in dests if near(src, d)]
            ports = sorted({p for d in scoped for p in _ports_of(spec, d)})
            if scoped and spec.match == "all" and len(ports) > 1:
                for port in ports:
                    offering = [d for d in scoped if port in _ports_of(spec, d)]
                    if not any(ev.allowed(src.key, d.key, *port) for d in offering):
                        found.append((src.key, offering[0].key, port))
            elif scoped and not any(good(src, d) for d in scoped) and bad_port(src, scoped[0]):
                found.append((src.key, scoped[0].key, bad_port(src, scoped[0])))
    if "destination" in spec.each:
        for dst in dests:
            scoped = [s for s in sources if near(s, dst)]
            if dst.synthetic or not scoped or any(good(s, dst) for s in scoped):
                continue
            if bad_port(scoped[0], dst):
                found.append((scoped[0].key, dst.key, bad_port(scoped[0], dst)))
    return found


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cluster_st(), st.lists(st.sampled_from(("gateway", "epp", "model-server", "other", "dns", "istiod")),
                              min_size=7, max_size=7),
       st.lists(st.sampled_from(("internet", "api-server")), min_size=2, max_size=2), st.booleans())
def test_required_violations_match_pair_by_pair(cluster: tuple, roles: list[str], external_roles: list[str],
                                                download: bool) -> None:
    """required_violations (bitsets, per scope) finds exactly the pairs a pair-by-pair check finds."""
    from dataclasses import replace

    from infergate.netpol.cluster import Cluster
    from infergate.netpol.flows import required_violations
    from infergate.netpol.security_model import security_model

    namespaces, endpoints, raw_policies, pod_cidrs = cluster
    uri = {"model_uri": "hf://org/model" if download else "pvc://models/x"}
    endpoints = [replace(e, role=roles[i], attrs=uri) if e.is_pod else replace(e, role=external_roles[i % 2])
                 for i, e in enumerate(endpoints)]
    nss = [Namespace(n, labels) for n, labels in namespaces.items()]
    built = Cluster(nss, endpoints, [parse_policy(p) for p in raw_policies], {"pod_cidrs": pod_cidrs})
    for spec in security_model().required:
        fast = [(v.source.key, v.destination.key, (v.port, v.protocol))
                for v in required_violations(built, spec)]
        assert fast == _pairwise_required(built, spec), spec.id
