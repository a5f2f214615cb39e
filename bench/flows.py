"""Benchmark the NetworkPolicy evaluator: 1,000 policies x 2,000 pods (budget: <= 2 s end to end).

Usage: .venv/bin/python bench/flows.py [--policies N] [--pods N] [--runs N]

A seeded random cluster (100 namespaces, labels from small vocabularies, policies with pod/namespace
selectors, matchExpressions, ipBlocks, numeric/named ports and ranges). Timed stages, medians of --runs:
  compile   parse the policy objects + build the evaluator (selection, per-pod isolation, indexes)
  matrix    the role x role x port matrix `infergate flows` prints, over every pod pair
  all-pairs every (source, destination, declared port) verdict: pods x pods x ports, as bitsets
  lint-np   `infergate lint --select NP` on the same cluster written as manifests (2,000 Deployments +
            1,000 NetworkPolicies, already loaded): graph, cluster, NP100-NP106
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infergate.netpol.addresses import block_covers
from infergate.netpol.cluster import DEFAULTS, Cluster
from infergate.netpol.evaluate import Evaluator
from infergate.netpol.flows import matrix
from infergate.netpol.model import Namespace, PortSpec, external, pod
from infergate.netpol.policy import _network, parse_policy

APPS = [f"app{i}" for i in range(12)]
TIERS = ["web", "api", "db", "cache"]
TEAMS = ["a", "b", "c", "d", "e"]
PORTS = [(8000, "http"), (9002, "grpc"), (9090, "metrics"), (5432, "pg"), (6379, "redis")]
ROLES = ["gateway", "epp", "model-server", "other"]


def make_cluster(n_policies: int, n_pods: int, seed: int = 7) -> tuple[list, list, list[dict]]:
    rnd = random.Random(seed)
    n_ns = 100
    namespaces = [Namespace(f"ns{i}", {"team": rnd.choice(TEAMS), "env": rnd.choice(["dev", "prod"])})
                  for i in range(n_ns)]
    endpoints = []
    for i in range(n_pods):
        ns = namespaces[i % n_ns].name
        ports = [PortSpec(n, "TCP", name) for n, name in rnd.sample(PORTS, rnd.randint(1, 2))]
        labels = {"app": rnd.choice(APPS), "tier": rnd.choice(TIERS)}
        if rnd.random() < 0.5:
            labels["team"] = rnd.choice(TEAMS)
        endpoints.append(pod(ns, f"pod{i}", labels, ports, role=rnd.choice(ROLES)))
    endpoints.append(pod("kube-system", "dns", {"k8s-app": "kube-dns"},
                         [PortSpec(53, "UDP", "dns"), PortSpec(53, "TCP", "dns-tcp")], role="dns"))
    endpoints.append(external("api-server", ["172.16.0.2/32"], [PortSpec(443)], role="api-server"))
    endpoints.append(external("internet", ["0.0.0.0/0"], [PortSpec(443)], ["10.0.0.0/8"], role="internet"))

    def selector() -> dict:
        choice = rnd.random()
        if choice < 0.15:
            return {}
        if choice < 0.7:
            return {"matchLabels": {"app": rnd.choice(APPS)}}
        return {"matchExpressions": [{"key": "tier", "operator": rnd.choice(["In", "NotIn"]),
                                      "values": rnd.sample(TIERS, 2)},
                                     {"key": "team", "operator": rnd.choice(["Exists", "DoesNotExist"])}]}

    def peer() -> dict:
        choice = rnd.random()
        if choice < 0.4:
            return {"podSelector": selector()}
        if choice < 0.6:
            return {"namespaceSelector": {"matchLabels": {"team": rnd.choice(TEAMS)}}}
        if choice < 0.85:
            name = f"ns{rnd.randrange(n_ns)}"
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}},
                    "podSelector": selector()}
        return {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}

    def ports() -> list[dict]:
        number, name = rnd.choice(PORTS)
        kind = rnd.random()
        if kind < 0.5:
            return [{"port": number}]
        if kind < 0.8:
            return [{"port": name}]
        return [{"port": number, "endPort": number + 100}]

    policies = []
    for i in range(n_policies):
        spec: dict = {"podSelector": selector(), "policyTypes": ["Ingress", "Egress"]}
        if i % 10:  # every tenth policy is a default deny
            spec["ingress"] = [{"from": [peer() for _ in range(rnd.randint(1, 3))], "ports": ports()}
                               for _ in range(rnd.randint(1, 2))]
            spec["egress"] = [{"to": [peer() for _ in range(rnd.randint(1, 2))], "ports": ports()}]
        else:
            spec["podSelector"] = {}
        policies.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": {"name": f"p{i}", "namespace": namespaces[i % n_ns].name}, "spec": spec})
    return namespaces, endpoints, policies


def run_once(namespaces: list, endpoints: list, raw: list[dict]) -> dict[str, float]:
    _network.cache_clear()  # every run starts cold: no CIDR parsed or ipBlock decided yet
    block_covers.cache_clear()
    t0 = time.perf_counter()
    policies = [parse_policy(p) for p in raw]
    ev = Evaluator(namespaces, endpoints, policies, ["10.8.0.0/14"])
    t1 = time.perf_counter()
    cluster = Cluster(namespaces, endpoints, policies, dict(DEFAULTS), [], ev)
    cells = matrix(cluster)
    t2 = time.perf_counter()
    allowed = 0
    for d, dst in enumerate(ev.endpoints):
        for port in dst.ports:
            allowed += ev.allowed_sources(d, port.number, port.protocol).bit_count()
    t3 = time.perf_counter()
    return {"compile": t1 - t0, "matrix": t2 - t1, "all-pairs": t3 - t2, "total": t3 - t0,
            "cells": len(cells), "allowed": allowed}


def as_documents(endpoints: list, raw: list[dict]) -> list:
    """The cluster as loaded manifests: one Deployment per pod template, the policies as they are."""
    import json

    from infergate.core.loader import load_text

    objects = []
    for e in endpoints:
        if not e.is_pod or e.namespace == "kube-system":
            continue
        ports = [{"containerPort": p.number, "name": p.name, "protocol": p.protocol} for p in e.ports]
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": e.name, "namespace": e.namespace},
                        "spec": {"selector": {"matchLabels": dict(e.labels)}, "template": {
                            "metadata": {"labels": dict(e.labels)},
                            "spec": {"containers": [{"name": "main", "image": "busybox:1.37",
                                                     "ports": ports}]}}}})
    text = "\n---\n".join(json.dumps(o) for o in [*objects, *raw])
    return list(load_text(text, "bench.yaml"))


def lint_np(documents: list) -> tuple[float, int]:
    from infergate.lint import lint_documents
    from infergate.lint.platform import platform_from

    _network.cache_clear()
    block_covers.cache_clear()
    platform = platform_from({"pod_cidrs": ["10.8.0.0/14"], "api_server_cidrs": ["172.16.0.2/32"]}, "bench")
    t0 = time.perf_counter()
    findings, _ = lint_documents(documents, platform=platform, select=["NP"])
    return time.perf_counter() - t0, len(findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    namespaces, endpoints, raw = make_cluster(args.policies, args.pods)
    results = [run_once(namespaces, endpoints, raw) for _ in range(args.runs)]
    n = len(endpoints)
    pair_ports = sum(len(e.ports) for e in endpoints) * n
    print(f"NetworkPolicy evaluation: {args.policies} policies x {args.pods} pods "
          f"(+3 platform endpoints), {args.runs} runs, median seconds")
    print(f"{'stage':<10} {'median':>8} {'min':>8} {'max':>8}")
    for stage in ("compile", "matrix", "all-pairs", "total"):
        values = [r[stage] for r in results]
        print(f"{stage:<10} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}")
    print(f"matrix cells: {results[0]['cells']}; (source, destination, port) verdicts: {pair_ports:,} "
          f"of which allowed: {results[0]['allowed']:,}")
    budget = 2.0
    total = statistics.median(r["total"] for r in results)
    print(f"budget {budget:.1f} s: {'OK' if total <= budget else 'OVER'} ({total:.3f} s)")
    documents = as_documents(endpoints, raw)
    lint_runs = [lint_np(documents) for _ in range(max(1, args.runs // 2))]
    print(f"lint-np    {statistics.median(t for t, _ in lint_runs):8.3f} s median over {len(lint_runs)} runs "
          f"({len(documents)} objects, {lint_runs[0][1]} NP findings)")


if __name__ == "__main__":
    main()
