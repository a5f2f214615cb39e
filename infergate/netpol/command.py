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


def run_probes(path: Path, fmt: str) -> str:
    """The isolation probes of the environment whose output ``path`` is, with their static verdicts."""
    from infergate.netpol import probecheck
    from infergate.netpol.probeplan import plan
    from infergate.synth.config import environment_for_dist

    if fmt not in ("table", "json"):
        raise InfergateError(f"--probes: --format {fmt} is not available (table or json)")
    cluster = cluster_from_path(path)
    env = environment_for_dist(path)
    if env is None:
        raise InfergateError("--probes needs the output of an environment of an infergate project "
                             "(dist/<env>): the probes come from its environment file", file=str(path))
    checks = probecheck.static_checks(cluster, plan(env, security_model()))
    if fmt == "json":
        return probecheck.as_json(checks, env.probes.enabled)
    where = f"emitted as PostSync hooks in dist/{env.name}/probes/" if env.probes.enabled \
        else "not emitted (probes.enabled is false): the checks they would run"
    return probecheck.table(checks, f"isolation probes of {env.name} ({env.file}): {where}")


def run_flows(path: Path, fmt: str, probes: bool = False) -> str:
    from infergate.netpol import render

    if probes:
        return run_probes(path, fmt)
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
