"""A user chart: a PodDisruptionBudget per model and a cluster-scoped PriorityClass (which the
environment's AppProject must then admit)."""

from __future__ import annotations

import cdk8s
from cdk8s_plus_33 import k8s

from infergate.api import Environment


def build(chart: cdk8s.Chart, env: Environment) -> None:
    k8s.KubePriorityClass(chart, "inference", metadata=k8s.ObjectMeta(name="inference-serving"),
                          value=100_000, description="model servers of the inference stack")
    for model in env.models:
        k8s.KubePodDisruptionBudget(
            chart, f"pdb-{model.name}",
            metadata=k8s.ObjectMeta(name=f"{model.name}-pdb", namespace=model.namespace),
            spec=k8s.PodDisruptionBudgetSpec(max_unavailable=k8s.IntOrString.from_number(1),
                                             selector=k8s.LabelSelector(match_labels=model.workload_labels)))
