"""Renderers of the reachability matrix: an aligned table, JSON, and a Mermaid flowchart."""

from __future__ import annotations

import json
from collections.abc import Sequence

from infergate.netpol.cluster import ROLES, Cluster
from infergate.netpol.evaluate import PARTIAL
from infergate.netpol.flows import Cell, Violation

# Sources that never open connections to workloads themselves: left out of the diagram (not the table).
_QUIET_SOURCES = ("dns", "api-server", "istiod")
_EXTERNAL = ("internet", "api-server")
_PLATFORM = ("dns", "monitoring", "istiod")


def table(cells: Sequence[Cell], violations: Sequence[Violation], unchecked: Sequence[str] = ()) -> str:
    rows = [("FROM", "TO", "PORT", "STATUS", "PAIRS", "BY")]
    rows += [(c.source, c.destination, f"{c.protocol}/{c.port}", c.status, _pairs(c), c.why) for c in cells]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(v.ljust(widths[i]) for i, v in enumerate(r[:5])) + "  " + r[5] for r in rows]
    lines.append("")
    if violations:
        lines.append(f"security model: {len(violations)} violation(s)")
        lines += [f"  {v.kind}: {v.describe()}" for v in violations]
    else:
        lines.append("security model: every required flow allowed, every forbidden flow denied")
    lines += [f"  not checked: {note}" for note in unchecked]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _pairs(cell: Cell) -> str:
    """allowed/total pairs, plus the pairs allowed for some addresses only (when there are any)."""
    pairs = f"{cell.allowed}/{cell.pairs}"
    return f"{pairs} +{cell.partial} partly" if cell.partial else pairs


def as_json(cluster: Cluster, cells: Sequence[Cell], violations: Sequence[Violation],
            unchecked: Sequence[str] = ()) -> str:
    doc = {
        "endpoints": [{"key": e.key, "role": e.role, "synthetic": e.synthetic,
                       "ports": [{"port": p.number, "protocol": p.protocol, "name": p.name} for p in e.ports]}
                      for e in cluster.endpoints],
        "flows": [c.to_dict() for c in cells],
        "violations": [{"kind": v.kind, "id": v.spec.id, "from": v.source.key,
                        "to": v.destination.key if v.destination else None, "port": v.port,
                        "protocol": v.protocol, "status": v.status, "message": v.describe()}
                       for v in violations],
        "unchecked": list(unchecked),
    }
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _order(role: str) -> int:
    return ROLES.index(role) if role in ROLES else len(ROLES)


def _node(role: str) -> str:
    return role.replace("-", "_")


def mermaid(cells: Sequence[Cell], violations: Sequence[Violation]) -> str:
    """Allowed flows as solid arrows, partly allowed as dotted, required-but-not-allowed as crossed arrows.

    A dotted arrow says "(some pods)" when only some source pods may connect, "(some addresses)" when an
    ipBlock admits part of an address range; a crossed one says DENIED, or PARTLY DENIED when a required
    flow works for some addresses only.
    """
    edges: dict[tuple[str, str, str], list[str]] = {}
    by_address: set[tuple[str, str, str]] = set()
    for c in cells:
        if c.status == "denied" or c.source in _QUIET_SOURCES:
            continue
        if c.source in _EXTERNAL and c.destination in _PLATFORM:
            continue  # outside traffic to platform pods (DNS) is not this output's business
        key = (c.source, c.destination, c.status)
        edges.setdefault(key, []).append(f"{c.protocol}/{c.port}")
        if c.partial:
            by_address.add(key)
    for v in violations:
        if v.kind == "required" and v.port is not None:
            key = (v.source.role or "other", v.spec.to, "missing")
            edges.setdefault(key, []).append(f"{v.protocol}/{v.port}")
            if v.status == PARTIAL:
                by_address.add(key)
    roles = sorted({r for key in edges for r in key[:2]}, key=_order)
    lines = ["flowchart LR"]
    lines += [f'  {_node(r)}(["{r}"])' for r in roles]
    arrows = {"allowed": "-->", "partial": "-.->", "missing": "--x"}
    for (src, dst, status), ports in sorted(edges.items(),
                                            key=lambda kv: (_order(kv[0][0]), _order(kv[0][1]), kv[0][2])):
        label = ", ".join(sorted(set(ports), key=lambda p: (int(p.split("/")[1]), p)))
        partly = (src, dst, status) in by_address
        if status == "partial":
            label += " (some addresses)" if partly else " (some pods)"
        elif status == "missing":
            label += " PARTLY DENIED" if partly else " DENIED"
        lines.append(f'  {_node(src)} {arrows[status]}|"{label}"| {_node(dst)}')
    return "\n".join(lines) + "\n"
