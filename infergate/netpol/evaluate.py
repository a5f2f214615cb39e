"""Static NetworkPolicy reachability (networking.k8s.io/v1 semantics), fast enough for big clusters.

Sets of endpoints are Python ints used as bitsets (bit i = endpoint i), so selecting pods, OR-ing the
peers of many rules and counting allowed pairs are a few big-int operations instead of loops over pods.

Semantics, in one place:
- A pod is isolated for a direction iff some policy of its namespace selects it and lists that
  direction in its (defaulted) policyTypes; a non-isolated pod allows everything in that direction.
  External endpoints are never isolated (policies select pods only).
- An isolated direction allows a flow iff some rule of some selecting policy admits the peer on the
  port. A flow src -> dst needs src's egress and dst's ingress to allow it.
- A peer: podSelector alone = pods of the policy's namespace; namespaceSelector alone = every pod of the
  matching namespaces; both = AND; ipBlock = see ``addresses`` (pods match only if the block covers the
  whole pod CIDR). Rules without from/to admit every endpoint, pods and external alike.
- Ports: absent = all; numeric with optional endPort; named ports resolve against the destination
  pod's container ports (ingress and egress alike); external endpoints have no named ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from infergate.netpol.addresses import block_covers, subtract, to_networks
from infergate.netpol.model import Endpoint, Namespace, PortSpec
from infergate.netpol.policy import EGRESS, INGRESS, LabelSelector, Peer, Policy, PolicyPort, Rule


def iter_bits(bits: int) -> Iterable[int]:
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule of a policy, for explanations: ``ns/name`` + direction + index."""

    policy: Policy
    direction: str
    index: int

    def __str__(self) -> str:
        return f"{self.policy.key} {self.direction.lower()}[{self.index}]"


@dataclass(frozen=True, slots=True)
class Side:
    """One direction of one flow: allowed or not, and by which policies."""

    allowed: bool
    isolated_by: tuple[Policy, ...]  # empty: not isolated, everything allowed
    allowed_by: tuple[RuleRef, ...]

    def describe(self, direction: str) -> str:
        word = direction.lower()
        if not self.isolated_by:
            return f"{word}: not isolated"
        if self.allowed:
            return f"{word}: " + ", ".join(str(r) for r in self.allowed_by)
        return f"{word}: denied (isolated by " + ", ".join(p.key for p in self.isolated_by) + ")"


@dataclass(frozen=True, slots=True)
class Verdict:
    egress: Side  # of the source
    ingress: Side  # of the destination

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    def describe(self) -> str:
        return f"{self.egress.describe(EGRESS)}; {self.ingress.describe(INGRESS)}"


@dataclass(slots=True)
class _Compiled:
    policy: Policy
    selected: int
    ingress: list[tuple[Rule, int]]  # (rule, bitset of admitted peers)
    egress: list[tuple[Rule, int]]


def port_matches(ports: tuple[PolicyPort, ...] | None, dst: Endpoint, number: int, protocol: str) -> bool:
    if ports is None:
        return True
    for pp in ports:
        if pp.protocol != protocol:
            continue
        if pp.port is None:
            return True
        if isinstance(pp.port, int):
            if pp.port == number if pp.end_port is None else pp.port <= number <= pp.end_port:
                return True
        elif dst.is_pod and any(cp.name == pp.port and cp.protocol == protocol and cp.number == number
                                for cp in dst.ports):
            return True
    return False


class Evaluator:
    """Compile once, then ask: which sources may reach endpoint d on port p? may s reach d? why?"""

    def __init__(self, namespaces: Iterable[Namespace], endpoints: Sequence[Endpoint],
                 policies: Iterable[Policy], pod_cidrs: Sequence[str] = ()) -> None:
        self.endpoints = list(endpoints)
        self.index = {e.key: i for i, e in enumerate(self.endpoints)}
        if len(self.index) != len(self.endpoints):
            raise ValueError("endpoint keys must be unique")
        n = len(self.endpoints)
        self.all = (1 << n) - 1
        self.pods = 0
        self.real_pods = 0  # pods of the manifests (not probes or platform pods)
        self.ns_members: dict[str, int] = {}
        self._label_index: dict[str, dict[str, int]] = {}
        self._has_key: dict[str, int] = {}
        for i, ep in enumerate(self.endpoints):
            if not ep.is_pod:
                continue
            bit = 1 << i
            self.pods |= bit
            if not ep.synthetic:
                self.real_pods |= bit
            self.ns_members[ep.namespace] = self.ns_members.get(ep.namespace, 0) | bit  # type: ignore[index]
            for key, value in ep.labels.items():
                values = self._label_index.setdefault(key, {})
                values[value] = values.get(value, 0) | bit
                self._has_key[key] = self._has_key.get(key, 0) | bit
        declared = {ns.name: ns for ns in namespaces}
        names = set(declared) | set(self.ns_members)
        self.namespace_labels = {name: (declared.get(name) or Namespace(name)).effective_labels()
                                 for name in sorted(names)}
        self._ns_cache: dict[LabelSelector, int] = {}
        pod_pieces = subtract(to_networks(pod_cidrs), ())
        self._pod_pieces = pod_pieces
        self._external_pieces = {i: subtract(to_networks(ep.cidrs), to_networks(ep.excepts))
                                 for i, ep in enumerate(self.endpoints) if not ep.is_pod}
        self.policies = [self._compile(p) for p in policies]
        self._in_pols: dict[int, list[_Compiled]] = {}
        self._eg_pols: dict[int, list[_Compiled]] = {}
        self.ingress_isolated = 0
        self.egress_isolated = 0
        # egress rules indexed by the destinations they admit, so "who may send to d" is cheap
        self._eg_any: list[tuple[_Compiled, Rule]] = []
        self._eg_pods: list[tuple[_Compiled, Rule]] = []
        self._eg_by_dst: dict[int, list[tuple[_Compiled, Rule]]] = {}
        # senders admitted by the destination-independent rules above depend only on the destination's
        # kind and ports: many pods share them, so the scan over every such rule runs once per shape
        self._eg_shared: dict[tuple[bool, tuple[PortSpec, ...], int, str], int] = {}
        self._eg_memo: dict[tuple[int, int, str], int] = {}  # the evaluator is immutable once built
        for comp in self.policies:
            if INGRESS in comp.policy.types:
                self.ingress_isolated |= comp.selected
                for i in iter_bits(comp.selected):
                    self._in_pols.setdefault(i, []).append(comp)
            if EGRESS in comp.policy.types:
                self.egress_isolated |= comp.selected
                for i in iter_bits(comp.selected):
                    self._eg_pols.setdefault(i, []).append(comp)
                if not comp.selected:
                    continue
                for rule, peers in comp.egress:
                    if peers == self.all:
                        self._eg_any.append((comp, rule))
                    elif peers == self.pods:
                        self._eg_pods.append((comp, rule))
                    else:
                        for i in iter_bits(peers):
                            self._eg_by_dst.setdefault(i, []).append((comp, rule))

    # --- selection -------------------------------------------------------------------------------
    def select_pods(self, selector: LabelSelector, within: int) -> int:
        bits = within
        for req in selector.requirements:
            if not bits:
                return 0
            if req.operator == "In":
                values = self._label_index.get(req.key, {})
                any_of = 0
                for v in req.values:
                    any_of |= values.get(v, 0)
                bits &= any_of
            elif req.operator == "NotIn":
                values = self._label_index.get(req.key, {})
                for v in req.values:
                    bits &= ~values.get(v, 0)
            elif req.operator == "Exists":
                bits &= self._has_key.get(req.key, 0)
            else:
                bits &= ~self._has_key.get(req.key, 0)
        return bits

    def select_namespaces(self, selector: LabelSelector) -> int:
        """Pods of the namespaces the selector matches (memoized: policies repeat the same few selectors)."""
        bits = self._ns_cache.get(selector)
        if bits is None:
            bits = 0
            for name, labels in self.namespace_labels.items():
                if selector.matches(labels):
                    bits |= self.ns_members.get(name, 0)
            self._ns_cache[selector] = bits
        return bits

    def peer_bits(self, peer: Peer, namespace: str) -> int:
        if peer.ip_block is not None:
            bits = self.pods if block_covers(peer.ip_block, self._pod_pieces) else 0
            for i, pieces in self._external_pieces.items():
                if block_covers(peer.ip_block, pieces):
                    bits |= 1 << i
            return bits
        if peer.namespace_selector is None:
            within = self.ns_members.get(namespace, 0)
        elif peer.namespace_selector.is_empty:
            within = self.pods
        else:
            within = self.select_namespaces(peer.namespace_selector)
        if peer.pod_selector is None:
            return within
        return self.select_pods(peer.pod_selector, within)

    def rule_bits(self, rule: Rule, namespace: str) -> int:
        if rule.peers is None:
            return self.all
        bits = 0
        for peer in rule.peers:
            bits |= self.peer_bits(peer, namespace)
        return bits

    def _compile(self, policy: Policy) -> _Compiled:
        selected = self.select_pods(policy.pod_selector, self.ns_members.get(policy.namespace, 0))
        return _Compiled(policy, selected,
                         [(r, self.rule_bits(r, policy.namespace)) for r in policy.ingress],
                         [(r, self.rule_bits(r, policy.namespace)) for r in policy.egress])

    # --- queries ---------------------------------------------------------------------------------
    def ingress_sources(self, dst: int, number: int, protocol: str) -> int:
        """Endpoints the ingress side of ``dst`` admits on the port."""
        if not (self.ingress_isolated >> dst) & 1:
            return self.all
        ep = self.endpoints[dst]
        bits = 0
        for comp in self._in_pols[dst]:
            for rule, peers in comp.ingress:
                if port_matches(rule.ports, ep, number, protocol):
                    bits |= peers
        return bits

    def egress_sources(self, dst: int, number: int, protocol: str) -> int:
        """Endpoints whose egress side admits ``dst`` on the port."""
        memo = self._eg_memo.get((dst, number, protocol))
        if memo is not None:
            return memo
        ep = self.endpoints[dst]
        shape = (ep.is_pod, ep.ports, number, protocol)
        bits = self._eg_shared.get(shape)
        if bits is None:
            bits = self.all & ~self.egress_isolated
            for comp, rule in self._eg_any + (self._eg_pods if ep.is_pod else []):
                if port_matches(rule.ports, ep, number, protocol):
                    bits |= comp.selected
            self._eg_shared[shape] = bits
        for comp, rule in self._eg_by_dst.get(dst, ()):
            if port_matches(rule.ports, ep, number, protocol):
                bits |= comp.selected
        self._eg_memo[(dst, number, protocol)] = bits
        return bits

    def allowed_sources(self, dst: int, number: int, protocol: str = "TCP") -> int:
        return self.ingress_sources(dst, number, protocol) & self.egress_sources(dst, number, protocol)

    def allowed(self, src: str, dst: str, number: int, protocol: str = "TCP") -> bool:
        s, d = self.index[src], self.index[dst]
        return bool((self.allowed_sources(d, number, protocol) >> s) & 1)

    def explain(self, src: str, dst: str, number: int, protocol: str = "TCP") -> Verdict:
        """The verdict for one pair, with the policies and rules that decide it."""
        s, d = self.index[src], self.index[dst]
        ep = self.endpoints[d]
        sides = []
        for direction, table, me, other in ((EGRESS, self._eg_pols, s, d), (INGRESS, self._in_pols, d, s)):
            comps = table.get(me, [])
            allowed_by = []
            for comp in comps:
                rules = comp.egress if direction == EGRESS else comp.ingress
                for idx, (rule, peers) in enumerate(rules):
                    if (peers >> other) & 1 and port_matches(rule.ports, ep, number, protocol):
                        allowed_by.append(RuleRef(comp.policy, direction, idx))
            isolated_by = tuple(c.policy for c in comps)
            sides.append(Side(not comps or bool(allowed_by), isolated_by, tuple(allowed_by)))
        return Verdict(egress=sides[0], ingress=sides[1])
