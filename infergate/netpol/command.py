"""`infergate flows PATH`: load, build the cluster (with the environment's platform facts), render."""

from __future__ import annotations

from pathlib import Path

from infergate.core.errors import InfergateError
from infergate.core.loader import line_of, load_paths
from infergate.netpol.cluster import Cluster, build_cluster
from infergate.netpol.flows import Cell, matrix, unchecked, violations
from infergate.netpol.security_model import security_model


def cluster_from_path(path: Path) -> Cluster:
    from infergate.core.graph import Graph
    from infergate.lint.config import discover_config
    from infergate.lint.platform import platform_for_paths

    if not path.exists():
        raise InfergateError("no such file or directory", file=str(path))
    documents, problems = load_paths([path])
    if problems:
        first = problems[0]
        raise InfergateError(first.message, file=first.file, line=first.line)
    platform = platform_for_paths([path], discover_config(path).platform)
    cluster = build_cluster(Graph(documents, platform))
    if cluster.bad_policies:
        bad = cluster.bad_policies[0]
        raise InfergateError(f"invalid NetworkPolicy: {bad.message}", file=bad.source.doc.file,
                             line=line_of(bad.source.doc, bad.path), obj=bad.source.ref)
    return cluster


def shown_cells(cluster: Cluster) -> list[Cell]:
    """The matrix without external -> external cells (no NetworkPolicy governs those)."""
    external = {e.role for e in cluster.endpoints if not e.is_pod}
    return [c for c in matrix(cluster) if not (c.source in external and c.destination in external)]


def run_flows(path: Path, fmt: str) -> str:
    from infergate.netpol import render

    cluster = cluster_from_path(path)
    cells = shown_cells(cluster)
    model = security_model()
    found = list(violations(cluster, model))
    notes = unchecked(cluster, model)
    if fmt == "json":
        return render.as_json(cluster, cells, found, notes)
    if fmt == "mermaid":
        return render.mermaid(cells, found)
    return render.table(cells, found, notes)
