"""`infergate flows --probes`: every check of the environment's isolation probes, with the verdict the
output's NetworkPolicies give it statically. A probe is evaluated as what it is in the cluster: a pod with its
source's labels in its source's namespace (role ``probe``), towards the destinations its target names."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from infergate.netpol.addresses import address_set, to_networks
from infergate.netpol.cluster import PROBE_ROLE, Cluster
from infergate.netpol.evaluate import ALLOWED, DENIED, PARTIAL
from infergate.netpol.model import Endpoint, Namespace, pod
from infergate.netpol.probeplan import Probe, Target

UNKNOWN = "unknown"  # the output has no endpoint the target stands for


@dataclass(frozen=True, slots=True)
class ProbeCheck:
    probe: Probe
    target: Target
    static: str  # allowed | partial | denied | unknown
    why: str

    @property
    def agrees(self) -> bool:
        return self.static == (ALLOWED if self.probe.expect == "connect" else DENIED)


def _add_sources(cluster: Cluster, probes: Sequence[Probe]) -> dict[str, Endpoint]:
    """One synthetic probe pod per Job, added before the evaluator is built."""
    known = {n.name for n in cluster.namespaces}
    out: dict[str, Endpoint] = {}
    for probe in probes:
        ns = probe.source.namespace or "default"
        if ns not in known:
            cluster.namespaces.append(Namespace(ns))
            known.add(ns)
        endpoint = pod(ns, f"(probe {probe.name})", probe.source.labels, (), role=PROBE_ROLE, synthetic=True)
        cluster.endpoints.append(endpoint)
        out[probe.name] = endpoint
    return out


def _destinations(cluster: Cluster, target: Target) -> list[Endpoint]:
    place = target.place
    return [e for e in cluster.endpoints if e.role == place.role
            and (place.namespace is None or e.namespace == place.namespace)
            and all(e.labels.get(k) == v for k, v in place.labels.items())]


def _combine(statuses: list[str]) -> str:
    if not statuses:
        return UNKNOWN
    if all(s == ALLOWED for s in statuses):
        return ALLOWED
    return DENIED if all(s == DENIED for s in statuses) else PARTIAL


def static_checks(cluster: Cluster, probes: Sequence[Probe]) -> list[ProbeCheck]:
    sources = _add_sources(cluster, probes)
    ev = cluster.evaluator
    roles = {e.role for e in cluster.endpoints}
    out = []
    for probe in probes:
        src = sources[probe.name]
        for target in probe.targets:
            if target.place.namespace is None and target.place.role not in roles:
                # an address that is no endpoint of the matrix (the node metadata server): egress decides
                status, refs = ev.egress_to_addresses(ev.index[src.key],
                                                      address_set(to_networks([f"{target.host}/32"])),
                                                      target.port)
                why = ", ".join(map(str, refs)) or "no egress rule admits it"
                out.append(ProbeCheck(probe, target, status, f"egress: {why}"))
                continue
            verdicts = [ev.explain(src.key, d.key, target.port, "TCP")
                        for d in _destinations(cluster, target)]
            why = verdicts[0].describe() if verdicts else "no such destination in the output"
            out.append(ProbeCheck(probe, target, _combine([v.status for v in verdicts]), why))
    return out


def _source(probe: Probe) -> str:
    return f"{probe.source.role} in {probe.source.namespace}"


def table(checks: Sequence[ProbeCheck], header: str) -> str:
    rows = [("JOB", "FLOW", "FROM", "TO", "EXPECT", "STATIC")]
    rows += [(c.probe.name, f"{c.probe.kind} {c.probe.flow}", _source(c.probe),
              f"{c.target.host}:{c.target.port}", c.probe.expect,
              c.static if c.agrees else f"{c.static} (DISAGREES)") for c in checks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [header, ""]
    lines += ["  ".join(v.ljust(widths[i]) for i, v in enumerate(r)).rstrip() for r in rows]
    lines.append("")
    jobs = len({c.probe.name for c in checks})
    wrong = [c for c in checks if not c.agrees]
    if wrong:
        lines.append(f"probes: {jobs} Jobs, {len(checks)} checks; {len(wrong)} disagree with the static "
                     "verdict (the Job would fail):")
        lines += [f"  {c.probe.name}: {c.target.host}:{c.target.port} expected {c.probe.expect}, statically "
                  f"{c.static} ({c.why})" for c in wrong]
    else:
        lines.append(f"probes: {jobs} Jobs, {len(checks)} checks; every static verdict agrees with its "
                     "expectation")
    return "\n".join(lines) + "\n"


def as_json(checks: Sequence[ProbeCheck], emitted: bool) -> str:
    doc = {"emitted": emitted, "checks": [
        {"job": c.probe.name, "flow": c.probe.flow, "kind": c.probe.kind, "from_role": c.probe.source.role,
         "namespace": c.probe.source.namespace, "labels": dict(sorted(c.probe.source.labels.items())),
         "to_role": c.target.place.role, "host": c.target.host, "port": c.target.port,
         "expect": c.probe.expect, "static": c.static, "agrees": c.agrees, "why": c.why} for c in checks]}
    return json.dumps(doc, indent=2) + "\n"
