"""DEP7xx: deprecated APIs of this stack, read from one data table (policies/data/deprecated-apis.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from infergate.policies import Hit, rule
from infergate.policies.inference import istio_version

from infergate.core.findings import Severity
from infergate.core.graph import Graph
from infergate.synth.profiles import pool_groups_for_istio

TABLE = Path(__file__).parent / "data" / "deprecated-apis.yaml"


@lru_cache(maxsize=1)
def deprecations() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> table entry."""
    entries = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return {(e["group"], e["version"], kind): e for e in entries for kind in e["kinds"]}


def _links() -> tuple[str, ...]:
    return tuple(sorted({e["link"] for e in deprecations().values()}))


@rule(
    "DEP701",
    "deprecated-api",
    Severity.WARNING,
    summary="deprecated APIs of this stack, from one data table: InferencePool/InferenceModel x-k8s.io "
    "v1alpha2 -> inference.networking.k8s.io/v1 + InferenceObjective; Istio v1alpha3/v1beta1 "
    "-> v1; "
    "Gateway API v1beta1 -> v1",
    rationale="Deprecated versions disappear in a later release of the operator or CRD bundle; "
    "manifests that "
    "still use them stop applying on upgrade, usually in the middle of one. Moving while "
    "both are "
    "served is free. The InferencePool move waits for an Istio that serves the GA API (the platform "
    "profile table: Istio 1.28, profile upstream-2026), so it is only reported once the configured Istio "
    "can use the replacement.",
    links=_links(),
    fix="Change apiVersion (and kind) to the replacement the message names; the table in "
    "policies/data/deprecated-apis.yaml lists each with its reason.",
    bad=(
        """\
apiVersion: networking.istio.io/v1beta1  # <-
kind: DestinationRule
metadata: {name: epp, namespace: demo}
spec:
  host: epp.demo.svc.cluster.local
  trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true}}
""",
    ),
    good=(
        """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: epp, namespace: demo}
spec:
  host: epp.demo.svc.cluster.local
  trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true}}
""",
    ),
)
def dep701(graph: Graph) -> Iterator[Hit]:
    table = deprecations()
    version, _ = istio_version(graph)
    for obj in graph.objects:
        entry = table.get((obj.group, obj.version, obj.kind))
        if entry is None:
            continue
        gate = entry.get("when_istio_serves")  # an Istio without the replacement: moving would break routing
        if gate and version is not None and gate not in pool_groups_for_istio(f"{version[0]}.{version[1]}"):
            continue
        yield Hit(
            obj,
            f"{obj.api_version} {obj.kind} is deprecated: use {entry['replacement']} ({entry['why']})",
            ("apiVersion",),
        )
