"""infergate as a library, for cdk8s users who compose its charts in their own ``main.py``.

What `infergate synth` writes, step by step (the same bytes; tests/test_extensions.py holds it to that)::

    # main.py of an infergate project; cdk8s.yaml says `app: python main.py`
    from pathlib import Path

    import infergate.api as ig

    project = ig.require_project(start=Path(__file__).resolve().parent)
    envs = [ig.load_environment(path) for path in ig.environment_files(project.environments_dir)]
    for env in envs:
        app = ig.new_app(project.dist_dir / env.name)   # one App per environment: dist/<env>/
        ig.add_environment(app, env)   # the stack, the env's `charts:` and `extra:`, Argo CD, bootstrap
        app.synth()
    ig.synth_fleet(envs, project.dist_dir / "fleet")    # ApplicationSet + Argo CD's own configuration

A chart of your own, in the same App, gets its Argo CD Application like infergate's charts do::

    monitoring = ig.Chart(app, "monitoring", wave=5, destination_namespace="monitoring")
    ...                                                 # constructs added to `monitoring`
    ig.add_environment(app, env, components=[ig.chart_component(monitoring)])

or, without a main.py of your own, name a function in the environment file (`charts:`); it is called
as :class:`ChartBuilder` ``build(chart, env)`` with the chart infergate created for it.

Importing this module selects infergate's pinned Node for jsii (it must happen before cdk8s loads).
"""

from __future__ import annotations

from infergate.synth.node import prefer_pinned_node

prefer_pinned_node()

from infergate.charts.app import add_environment, new_app, synth_fleet  # noqa: E402
from infergate.charts.argocd import (  # noqa: E402
    ArgoCdChart,
    BootstrapChart,
    Component,
    FleetChart,
    chart_component,
)
from infergate.charts.argocd_config import ArgoConfigChart  # noqa: E402
from infergate.charts.common import Chart, ExtensionChart  # noqa: E402
from infergate.charts.gateway import GatewayChart  # noqa: E402
from infergate.charts.mesh import MeshChart  # noqa: E402
from infergate.charts.model import ModelChart  # noqa: E402
from infergate.charts.namespaces import NamespacesChart  # noqa: E402
from infergate.charts.netpol import NetworkPoliciesChart  # noqa: E402
from infergate.charts.pki import PkiChart  # noqa: E402
from infergate.project.discovery import Project, find_project, require_project  # noqa: E402
from infergate.synth.config import Environment, load_environment  # noqa: E402
from infergate.synth.run import environment_files  # noqa: E402
from infergate.synth.userchart import ChartBuilder  # noqa: E402

__all__ = [
    "ArgoCdChart", "ArgoConfigChart", "BootstrapChart", "Chart", "ChartBuilder", "Component", "Environment",
    "ExtensionChart", "FleetChart", "GatewayChart", "MeshChart", "ModelChart", "NamespacesChart",
    "NetworkPoliciesChart", "PkiChart", "Project", "add_environment", "chart_component",
    "environment_files", "find_project", "load_environment", "new_app", "require_project", "synth_fleet",
]
