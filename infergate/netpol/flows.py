"""The reachability matrix (role x role x port) and the security model checked against it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from infergate.netpol.cluster import OPTIONAL_ROLES, ROLES, Cluster, needs_network
from infergate.netpol.evaluate import PARTIAL, Verdict
from infergate.netpol.model import Endpoint
from infergate.netpol.security_model import ANY_PORT, FlowSpec, SecurityModel


@dataclass(frozen=True, slots=True)
class Cell:
    source: str  # role
    destination: str  # role
    port: int
    protocol: str
    allowed: int  # allowed (source pod, destination pod) pairs
    pairs: int
    example: tuple[str, str]  # the pair ``why`` explains
    why: str
    partial: int = 0  # pairs allowed for some of their addresses only (an ipBlock over part of a range)

    @property
    def status(self) -> str:
        """allowed: every pair fully; partial: some pairs, or some addresses of a pair; else denied."""
        if self.allowed == self.pairs:
            return "allowed"
        return "partial" if self.allowed or self.partial else "denied"

    def to_dict(self) -> dict[str, object]:
        return {"from": self.source, "to": self.destination, "port": self.port, "protocol": self.protocol,
                "status": self.status, "allowed_pairs": self.allowed, "partial_pairs": self.partial,
                "pairs": self.pairs, "example": {"from": self.example[0], "to": self.example[1]},
                "why": self.why}


def _role_order(role: str | None) -> int:
    return ROLES.index(role) if role in ROLES else len(ROLES)


def matrix(cluster: Cluster) -> list[Cell]:
    """Every (source role, destination role, destination port) with the verdict over all pod pairs."""
    ev = cluster.evaluator
    role_bits: dict[str, int] = {}
    for i, ep in enumerate(ev.endpoints):
        role_bits[ep.role or "other"] = role_bits.get(ep.role or "other", 0) | (1 << i)
    counts: dict[tuple[str, str, int, str], list[int]] = {}
    # the pair ``why`` explains: an allowed one if any (rank 2), else a partial one (1), else the first
    examples: dict[tuple[str, str, int, str], tuple[int, int, int]] = {}
    for d, dst in enumerate(ev.endpoints):
        for port in dst.ports:
            allowed, possible = ev.reach(d, port.number, port.protocol)
            for role, bits in role_bits.items():
                key = (role, dst.role or "other", port.number, port.protocol)
                hit, part = allowed & bits, possible & ~allowed & bits
                entry = counts.setdefault(key, [0, 0, 0])
                entry[0] += hit.bit_count()
                entry[1] += bits.bit_count()
                entry[2] += part.bit_count()
                rank = examples[key][2] if key in examples else -1
                for candidate, level in ((hit, 2), (part, 1), (bits, 0)):
                    if candidate and level > rank:
                        examples[key] = ((candidate & -candidate).bit_length() - 1, d, level)
                        break
    cells = []
    for key in sorted(counts, key=lambda k: (_role_order(k[0]), _role_order(k[1]), k[2], k[3])):
        s, d, _ = examples[key]
        src, dst = ev.endpoints[s], ev.endpoints[d]
        verdict = ev.explain(src.key, dst.key, key[2], key[3])
        cells.append(Cell(key[0], key[1], key[2], key[3], counts[key][0], counts[key][1],
                          (src.key, dst.key), verdict.describe(), counts[key][2]))
    return cells


# --- the security model ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Violation:
    spec: FlowSpec
    kind: str  # "required" | "forbidden"
    source: Endpoint
    destination: Endpoint | None
    port: int | None
    protocol: str | None
    verdict: Verdict | None

    @property
    def status(self) -> str | None:
        """The verdict's status: a forbidden flow is allowed or partial, a required one denied or partial."""
        return self.verdict.status if self.verdict else None

    def describe(self) -> str:
        port = f" {self.protocol}/{self.port}" if self.port is not None else ""
        dst = self.destination.key if self.destination else f"any {self.spec.to}"
        flow = f"{self.source.role} {self.source.key} -> {self.spec.to} {dst}{port}"
        how = self.verdict.describe() if self.verdict else ""
        partly = self.status == PARTIAL
        if self.kind == "forbidden":
            state = "allowed for some addresses" if partly else "allowed"
            return f"forbidden flow {self.spec.id} is {state}: {flow} ({how})"
        state = "allowed for some addresses only" if partly else "denied"
        return f"required flow {self.spec.id} is {state}: {flow} ({how})"


def _ports_of(spec: FlowSpec, dst: Endpoint) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for p in spec.ports:
        if p == ANY_PORT:
            out.extend((q.number, q.protocol) for q in dst.ports)
        else:
            out.append(p)  # type: ignore[arg-type]
    return sorted(set(out))


def _applies(spec: FlowSpec, src: Endpoint) -> bool:
    if spec.when == "metrics-open":  # a condition on the destination (see _dest_applies)
        return True
    return spec.when is None or needs_network((src.attrs or {}).get("model_uri"))


def _dest_applies(spec: FlowSpec, dst: Endpoint) -> bool:
    """metrics-open: only destinations whose metrics port takes scrapes without a token need the scraper."""
    return spec.when != "metrics-open" or bool((dst.attrs or {}).get("metrics_open"))


# Platform endpoints that stand for a pod the environment declares (the scraper): they count as sources
# of required flows, unlike the hypothetical any-pod.
DECLARED_SOURCES = ("monitoring",)


def _counts_as_source(e: Endpoint) -> bool:
    """Workloads of the output, declared platform pods (the scraper), and the pods of a gateway the tree
    names but does not hold (the platform runs it)."""
    return not e.synthetic or e.role in DECLARED_SOURCES or bool((e.attrs or {}).get("provided"))


def required_violations(cluster: Cluster, spec: FlowSpec) -> Iterator[Violation]:
    """Sources (or destinations) of a required flow with no allowed counterpart.

    Linear in the endpoints: pairs are never enumerated. For every destination and port the evaluator gives
    the bitset of allowed sources; those are combined per destination (all ports or any port) and OR-ed per
    scope (a namespace for ``scope: namespace``, else the whole cluster), so a source is checked with one
    bit test. Only a violation's pair is explained.
    """
    ev = cluster.evaluator
    sources = [e for e in cluster.endpoints
               if e.role in spec.sources and _counts_as_source(e) and _applies(spec, e)]
    dests = [e for e in cluster.endpoints if e.role == spec.to and _dest_applies(spec, e)]
    if not dests:
        return  # the platform does not say where that role is (e.g. no api_server_cidrs): not checkable

    def scope(e: Endpoint) -> str | None:
        if spec.scope == "group":
            return (e.attrs or {}).get("group")
        return e.namespace if spec.scope == "namespace" else None

    # per destination: its ports and the allowed sources per port
    ports_of = {d.key: _ports_of(spec, d) for d in dests}
    allowed = {d.key: {p: ev.allowed_sources(ev.index[d.key], *p) for p in ports_of[d.key]} for d in dests}

    def combined(dst: Endpoint) -> int:
        """Sources that satisfy the spec towards ``dst`` (every port, or one of them)."""
        bits = [allowed[dst.key][p] for p in ports_of[dst.key]]
        if not bits:
            return 0
        out = bits[0]
        for b in bits[1:]:
            out = out | b if spec.match == "any" else out & b
        return out

    def first_bad(src: Endpoint, dst: Endpoint) -> tuple[int, str] | None:
        ports = ports_of[dst.key]
        s = ev.index[src.key]
        return next((p for p in ports if not (allowed[dst.key][p] >> s) & 1), ports[0] if ports else None)

    def violation(src: Endpoint, dst: Endpoint, port: tuple[int, str]) -> Violation:
        return Violation(spec, "required", src, dst, port[0], port[1], ev.explain(src.key, dst.key, *port))

    dests_in: dict[str | None, list[Endpoint]] = {}
    for d in dests:
        dests_in.setdefault(scope(d), []).append(d)
    sources_in: dict[str | None, list[Endpoint]] = {}
    for src in sources:
        sources_in.setdefault(scope(src), []).append(src)
    if "source" in spec.each:
        # per scope: the ports its destinations offer, who reaches each port, who satisfies some destination
        groups: dict[str | None, tuple[list[tuple[int, str]], dict[tuple[int, str], int], int]] = {}
        for key, scoped in dests_in.items():
            ports = sorted({p for d in scoped for p in ports_of[d.key]})
            reach = {p: 0 for p in ports}
            some_dst = 0
            for d in scoped:
                for p in ports_of[d.key]:
                    reach[p] |= allowed[d.key][p]
                some_dst |= combined(d)
            groups[key] = (ports, reach, some_dst)
        for src in sources:
            scoped = dests_in.get(scope(src))
            if not scoped:
                continue
            ports, reach, some_dst = groups[scope(src)]
            bit = 1 << ev.index[src.key]
            if spec.match == "all" and len(ports) > 1:
                # every port must reach some destination (DNS: UDP/53 and TCP/53)
                for port in ports:
                    if not reach[port] & bit:
                        yield violation(src, next(d for d in scoped if port in ports_of[d.key]), port)
                continue
            if not some_dst & bit:
                port = first_bad(src, scoped[0])
                if port is not None:
                    yield violation(src, scoped[0], port)
    if "destination" in spec.each:
        source_bits = {key: sum(1 << ev.index[s.key] for s in scoped) for key, scoped in sources_in.items()}
        for dst in dests:
            if dst.synthetic:
                continue
            scoped = sources_in.get(scope(dst))
            if not scoped or combined(dst) & source_bits[scope(dst)]:
                continue
            port = first_bad(scoped[0], dst)
            if port is not None:
                yield violation(scoped[0], dst, port)


def forbidden_violations(cluster: Cluster, spec: FlowSpec) -> Iterator[Violation]:
    ev = cluster.evaluator
    src_bits = 0
    for i, e in enumerate(ev.endpoints):
        if e.role in spec.sources:
            src_bits |= 1 << i
    for d, dst in enumerate(ev.endpoints):
        if dst.role != spec.to:
            continue
        for number, protocol in _ports_of(spec, dst):
            # partial counts: a forbidden flow open for some addresses is open
            hits = ev.reach(d, number, protocol)[1] & src_bits
            for s in _bits(hits):
                src = ev.endpoints[s]
                if spec.exempt == "group" and _same_group(src, dst):
                    continue  # the hosts of one multi-host slice talk to each other
                yield Violation(spec, "forbidden", src, dst, number, protocol,
                                ev.explain(src.key, dst.key, number, protocol))


def _same_group(a: Endpoint, b: Endpoint) -> bool:
    group = (a.attrs or {}).get("group")
    return group is not None and a.namespace == b.namespace and group == (b.attrs or {}).get("group")


def _bits(bits: int) -> Iterator[int]:
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


def unchecked(cluster: Cluster, model: SecurityModel) -> list[str]:
    """Required flows that cannot be checked: no endpoint of the destination role is known, or (for flows
    every destination needs) no source of it, e.g. EPPs with no gateway in the tree or named by a route."""
    present = {e.role for e in cluster.endpoints}
    sources = {e.role for e in cluster.endpoints if _counts_as_source(e)}
    notes = [f"{spec.id}: no {spec.to} known (platform facts, output)" for spec in model.required
             if spec.to not in present and spec.to not in OPTIONAL_ROLES and sources & set(spec.sources)]
    for spec in model.required:
        # only gateway flows: the other sources exist with what they serve (no EPP: no scheduler to reach)
        if "destination" not in spec.each or "gateway" not in spec.sources or sources & set(spec.sources):
            continue
        dests = sorted(e.key for e in cluster.endpoints if e.role == spec.to and not e.synthetic)
        if dests:
            more = f" and {len(dests) - 1} more" if len(dests) > 1 else ""
            notes.append(f"{spec.id}: no {'/'.join(spec.sources)} known to reach {spec.to} {dests[0]}{more} "
                         "(no Gateway in the tree, and no route or LLMInferenceService names one)")
    return notes


def violations(cluster: Cluster, model: SecurityModel) -> Iterator[Violation]:
    for spec in model.required:
        yield from required_violations(cluster, spec)
    for spec in model.forbidden:
        yield from forbidden_violations(cluster, spec)
