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
  matching namespaces; both = AND; null selectors are unset. Rules without from/to admit every endpoint,
  pods and external alike.
- ipBlocks: a side admits the union of the blocks of every rule that applies on the port (see
  ``addresses``). Against the addresses of the other endpoint (the pod CIDR for a pod: pod IPs are
  ephemeral; an external endpoint's address set) the union admits all of them, some of them or none. So a
  side, and a flow, is allowed, *partial* (some addresses only) or denied; a partial flow is not allowed,
  but it is not closed either (a forbidden flow that is partial is a violation).
- Ports: absent = all; numeric with optional endPort; named ports resolve against the destination
  pod's container ports (ingress and egress alike); external endpoints have no named ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from infergate.netpol.addresses import (
    ALL,
    NONE,
    SOME,
    Spans,
    address_set,
    coverage,
    to_networks,
    union_of_blocks,
)
from infergate.netpol.model import Endpoint, Namespace, PortSpec
from infergate.netpol.policy import EGRESS, INGRESS, IPBlock, LabelSelector, Peer, Policy, PolicyPort, Rule

ALLOWED, PARTIAL, DENIED = "allowed", "partial", "denied"


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
    """One direction of one flow: allowed, partial (some addresses) or denied, and by which policies."""

    status: str  # ALLOWED, PARTIAL or DENIED
    isolated_by: tuple[Policy, ...]  # empty: not isolated, everything allowed
    allowed_by: tuple[RuleRef, ...]  # the rules admitting the peer (for PARTIAL: some of its addresses)

    @property
    def allowed(self) -> bool:
        return self.status == ALLOWED

    def describe(self, direction: str) -> str:
        word = direction.lower()
        if not self.isolated_by:
            return f"{word}: not isolated"
        rules = ", ".join(str(r) for r in self.allowed_by)
        if self.status == ALLOWED:
            return f"{word}: {rules}"
        if self.status == PARTIAL:
            return f"{word}: some addresses only, {rules}"
        return f"{word}: denied (isolated by " + ", ".join(p.key for p in self.isolated_by) + ")"


@dataclass(frozen=True, slots=True)
class Verdict:
    egress: Side  # of the source
    ingress: Side  # of the destination

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def status(self) -> str:
        """ALLOWED if both sides are, DENIED if either is, else PARTIAL (some addresses)."""
        statuses = (self.egress.status, self.ingress.status)
        if DENIED in statuses:
            return DENIED
        return ALLOWED if statuses == (ALLOWED, ALLOWED) else PARTIAL

    def describe(self) -> str:
        return f"{self.egress.describe(EGRESS)}; {self.ingress.describe(INGRESS)}"


# A compiled rule: the rule, the bitset of endpoints its selector peers (or its missing from/to) admit, and
# its ipBlocks (decided per side on the union of every applicable rule's blocks, see ``_block_bits``).
_CRule = tuple[Rule, int, tuple[IPBlock, ...]]


@dataclass(slots=True)
class _Compiled:
    policy: Policy
    selected: int
    ingress: list[_CRule]
    egress: list[_CRule]


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
        # address classes an ipBlock is judged against: every pod shares the pod CIDR; externals their own
        self._pod_addresses: Spans = address_set(to_networks(pod_cidrs))
        self._classes: list[tuple[int, Spans]] = [(self.pods, self._pod_addresses)]
        self._classes += [(1 << i, address_set(to_networks(ep.cidrs), to_networks(ep.excepts)))
                          for i, ep in enumerate(self.endpoints) if not ep.is_pod]
        self._blocks_memo: dict[frozenset[IPBlock], tuple[int, int]] = {}
        self.policies = [self._compile(p) for p in policies]
        self._selected = {id(c.policy): c.selected for c in self.policies}
        self._in_pols: dict[int, list[_Compiled]] = {}
        self._eg_pols: dict[int, list[_Compiled]] = {}
        self.ingress_isolated = 0
        self.egress_isolated = 0
        # egress rules indexed by the destinations their selector peers admit, so "who may send to d" is cheap
        self._eg_any: list[tuple[_Compiled, Rule]] = []
        self._eg_pods: list[tuple[_Compiled, Rule]] = []
        self._eg_by_dst: dict[int, list[tuple[_Compiled, Rule]]] = {}
        # senders admitted by the destination-independent rules above depend only on the destination's
        # kind and ports: many pods share them, so the scan over every such rule runs once per shape
        self._eg_shared: dict[tuple[bool, tuple[PortSpec, ...], int, str], int] = {}
        self._eg_memo: dict[tuple[int, int, str], tuple[int, int]] = {}  # immutable once built
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
                for rule, peers, _ in comp.egress:
                    if peers == self.all:
                        self._eg_any.append((comp, rule))
                    elif peers == self.pods:
                        self._eg_pods.append((comp, rule))
                    else:
                        for i in iter_bits(peers):
                            self._eg_by_dst.setdefault(i, []).append((comp, rule))
        # egress ipBlocks: a source's union of blocks depends on every policy selecting it, so sources are
        # grouped by the (ports, blocks) of all their block rules; copies of a policy share one group
        self._eg_block_groups: dict[tuple[tuple[tuple[PolicyPort, ...] | None, tuple[IPBlock, ...]], ...],
                                    int] = {}
        for i in iter_bits(self.egress_isolated):
            signature = tuple((rule.ports, blocks) for comp in self._eg_pols[i]
                              for rule, _, blocks in comp.egress if blocks)
            if signature:
                self._eg_block_groups[signature] = self._eg_block_groups.get(signature, 0) | (1 << i)
        self._eg_block_memo: dict[tuple[tuple[bool, tuple[PortSpec, ...], int, str], int],
                                  tuple[int, int]] = {}

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

    def selected(self, policy: Policy) -> int:
        """The pods a policy selects (computed once when compiling it)."""
        found = self._selected.get(id(policy))
        if found is None:  # not one of the evaluator's policies
            found = self.select_pods(policy.pod_selector, self.ns_members.get(policy.namespace, 0))
        return found

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

    def _block_bits(self, blocks: Iterable[IPBlock]) -> tuple[int, int]:
        """(endpoints all of whose addresses, endpoints some of whose addresses) the blocks' union admits."""
        key = frozenset(blocks)
        found = self._blocks_memo.get(key)
        if found is None:
            allowed = union_of_blocks(key)
            full = some = 0
            for bits, addresses in self._classes:
                covered = coverage(allowed, addresses)
                if covered == ALL:
                    full |= bits
                if covered != NONE:
                    some |= bits
            found = self._blocks_memo[key] = (full, some)
        return found

    def peer_bits(self, peer: Peer, namespace: str) -> int:
        """Endpoints this peer alone admits (an ipBlock: those all of whose addresses it covers)."""
        if peer.ip_block is not None:
            return self._block_bits((peer.ip_block,))[0]
        if peer.namespace_selector is None:
            within = self.ns_members.get(namespace, 0)
        elif peer.namespace_selector.is_empty:
            within = self.pods
        else:
            within = self.select_namespaces(peer.namespace_selector)
        if peer.pod_selector is None:
            return within
        return self.select_pods(peer.pod_selector, within)

    def _selector_bits(self, rule: Rule, namespace: str) -> int:
        """Endpoints the rule's selector peers admit (every endpoint without from/to); ipBlocks aside."""
        if rule.peers is None:
            return self.all
        bits = 0
        for peer in rule.peers:
            if peer.ip_block is None:
                bits |= self.peer_bits(peer, namespace)
        return bits

    def rule_reach(self, rule: Rule, namespace: str) -> tuple[int, int]:
        """(fully, at least partly) admitted endpoints of one rule on its own (its blocks as a union)."""
        full = self._selector_bits(rule, namespace)
        blocks = [p.ip_block for p in rule.peers or () if p.ip_block is not None]
        if not blocks:
            return full, full
        block_full, block_some = self._block_bits(blocks)
        return full | block_full, full | block_some

    def rule_bits(self, rule: Rule, namespace: str) -> int:
        """Endpoints the rule on its own admits fully."""
        return self.rule_reach(rule, namespace)[0]

    def _compile(self, policy: Policy) -> _Compiled:
        selected = self.select_pods(policy.pod_selector, self.ns_members.get(policy.namespace, 0))

        def rules(items: tuple[Rule, ...]) -> list[_CRule]:
            return [(r, self._selector_bits(r, policy.namespace),
                     tuple(p.ip_block for p in r.peers or () if p.ip_block is not None)) for r in items]

        return _Compiled(policy, selected, rules(policy.ingress), rules(policy.egress))

    # --- queries ---------------------------------------------------------------------------------
    def ingress_reach(self, dst: int, number: int, protocol: str) -> tuple[int, int]:
        """(fully, at least partly) admitted sources of the ingress side of ``dst`` on the port."""
        if not (self.ingress_isolated >> dst) & 1:
            return self.all, self.all
        ep = self.endpoints[dst]
        full = 0
        blocks: list[IPBlock] = []
        for comp in self._in_pols[dst]:
            for rule, peers, rule_blocks in comp.ingress:
                if port_matches(rule.ports, ep, number, protocol):
                    full |= peers
                    blocks.extend(rule_blocks)
        if not blocks:
            return full, full
        block_full, block_some = self._block_bits(blocks)
        return full | block_full, full | block_some

    def ingress_sources(self, dst: int, number: int, protocol: str) -> int:
        """Endpoints the ingress side of ``dst`` admits (fully) on the port."""
        return self.ingress_reach(dst, number, protocol)[0]

    def _egress_blocks(self, dst: int, number: int, protocol: str) -> tuple[int, int]:
        """(fully, partly) admitting sources by the union of their egress blocks, per destination class."""
        ep = self.endpoints[dst]
        shape = (ep.is_pod, ep.ports, number, protocol)
        key = (shape, -1 if ep.is_pod else dst)  # every pod has the pod CIDR's addresses
        found = self._eg_block_memo.get(key)
        if found is None:
            target = self.pods if ep.is_pod else 1 << dst
            full = some = 0
            for signature, sources in self._eg_block_groups.items():
                blocks = [b for ports, rule_blocks in signature if port_matches(ports, ep, number, protocol)
                          for b in rule_blocks]
                if blocks:
                    block_full, block_some = self._block_bits(blocks)
                    if block_full & target:
                        full |= sources
                    if block_some & target:
                        some |= sources
            found = self._eg_block_memo[key] = (full, some)
        return found

    def egress_reach(self, dst: int, number: int, protocol: str) -> tuple[int, int]:
        """(fully, at least partly) admitting sources: endpoints whose egress side admits ``dst``."""
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
        block_full, block_some = self._egress_blocks(dst, number, protocol)
        memo = self._eg_memo[(dst, number, protocol)] = (bits | block_full, bits | block_some)
        return memo

    def egress_sources(self, dst: int, number: int, protocol: str) -> int:
        """Endpoints whose egress side admits ``dst`` (fully) on the port."""
        return self.egress_reach(dst, number, protocol)[0]

    def reach(self, dst: int, number: int, protocol: str = "TCP") -> tuple[int, int]:
        """(allowed, allowed or partial) sources of ``dst`` on the port: both sides must admit the flow."""
        in_full, in_some = self.ingress_reach(dst, number, protocol)
        eg_full, eg_some = self.egress_reach(dst, number, protocol)
        return in_full & eg_full, in_some & eg_some

    def allowed_sources(self, dst: int, number: int, protocol: str = "TCP") -> int:
        return self.reach(dst, number, protocol)[0]

    def allowed(self, src: str, dst: str, number: int, protocol: str = "TCP") -> bool:
        s, d = self.index[src], self.index[dst]
        return bool((self.allowed_sources(d, number, protocol) >> s) & 1)

    def status(self, src: str, dst: str, number: int, protocol: str = "TCP") -> str:
        s, d = self.index[src], self.index[dst]
        full, some = self.reach(d, number, protocol)
        return ALLOWED if (full >> s) & 1 else PARTIAL if (some >> s) & 1 else DENIED

    def _side(self, comps: list[_Compiled], direction: str, other: int, dst: Endpoint, number: int,
              protocol: str) -> Side:
        if not comps:
            return Side(ALLOWED, (), ())
        allowed_by: list[RuleRef] = []
        by_selector = False
        blocks: list[IPBlock] = []
        for comp in comps:
            for idx, (rule, peers, rule_blocks) in enumerate(comp.egress if direction == EGRESS
                                                             else comp.ingress):
                if not port_matches(rule.ports, dst, number, protocol):
                    continue
                hit = bool((peers >> other) & 1)
                by_selector = by_selector or hit
                if rule_blocks and (self._block_bits(rule_blocks)[1] >> other) & 1:
                    blocks.extend(rule_blocks)
                    hit = True
                if hit:
                    allowed_by.append(RuleRef(comp.policy, direction, idx))
        status = DENIED
        if by_selector:
            status = ALLOWED
        elif blocks:
            status = ALLOWED if (self._block_bits(blocks)[0] >> other) & 1 else PARTIAL
        return Side(status, tuple(c.policy for c in comps), tuple(allowed_by))

    def explain(self, src: str, dst: str, number: int, protocol: str = "TCP") -> Verdict:
        """The verdict for one pair, with the policies and rules that decide it."""
        s, d = self.index[src], self.index[dst]
        ep = self.endpoints[d]
        return Verdict(egress=self._side(self._eg_pols.get(s, []), EGRESS, d, ep, number, protocol),
                       ingress=self._side(self._in_pols.get(d, []), INGRESS, s, ep, number, protocol))

    def egress_to_addresses(self, src: int, addresses: Spans, number: int,
                            protocol: str = "TCP") -> tuple[str, tuple[RuleRef, ...]]:
        """How ``src``'s egress side treats an address set that is no endpoint (e.g. the metadata server):
        (ALLOWED/PARTIAL/DENIED, the rules admitting some of it). Selector peers never match addresses."""
        comps = self._eg_pols.get(src, [])
        if not comps:
            return ALLOWED, ()
        refs: list[RuleRef] = []
        blocks: list[IPBlock] = []
        every = False
        for comp in comps:
            for idx, (rule, _, rule_blocks) in enumerate(comp.egress):
                if not port_matches(rule.ports, _NO_NAMED_PORTS, number, protocol):
                    continue
                hit = rule.peers is None  # no `to`: every address
                every = every or hit
                if rule_blocks and coverage(union_of_blocks(rule_blocks), addresses) != NONE:
                    blocks.extend(rule_blocks)
                    hit = True
                if hit:
                    refs.append(RuleRef(comp.policy, EGRESS, idx))
        if every:
            return ALLOWED, tuple(refs)
        covered = coverage(union_of_blocks(blocks), addresses) if blocks else NONE
        return {ALL: ALLOWED, SOME: PARTIAL, NONE: DENIED}[covered], tuple(refs)


_NO_NAMED_PORTS = Endpoint(key="external/(addresses)", namespace=None, name="(addresses)")
