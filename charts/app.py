"""Build one cdk8s App per environment (and one for the fleet) and synthesize it.

Output layout: dist/<env>/<folder>/<Kind>.<name>.yaml, one folder per Argo CD Application (the stack's
charts, the environment's user charts, and its extra folders copied byte for byte), and
dist/fleet/<Kind>.<name>.yaml for the ApplicationSet that fans the environments out, plus
dist/fleet/argocd-config/ (what Argo CD itself needs: health checks, kustomize versions).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cdk8s
from infergate.charts.argocd import ArgoCdChart, BootstrapChart, Component, FleetChart, chart_component
from infergate.charts.argocd_config import ArgoConfigChart, write_files
from infergate.charts.common import Chart, ExtensionChart
from infergate.charts.gateway import GatewayChart
from infergate.charts.mesh import MeshChart
from infergate.charts.model import ModelChart
from infergate.charts.monitoring import MetricsChart
from infergate.charts.namespaces import NamespacesChart
from infergate.charts.netpol import NetworkPoliciesChart, policed_namespaces
from infergate.charts.pki import PkiChart
from infergate.charts.probes import ProbesChart

from infergate.synth.config import Environment
from infergate.synth.extra import check_folder, copy_folder
from infergate.synth.userchart import build_chart, project_imports

FLEET_DIR = "fleet"
ARGOCD_CONFIG_DIR = "argocd-config"  # under dist/fleet/


def new_app(outdir: Path, per_chart_folder: bool = True) -> cdk8s.App:
    """An App writing what infergate writes: one folder per chart, one `<Kind>.<name>.yaml` per object."""
    layout = (cdk8s.YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE if per_chart_folder
              else cdk8s.YamlOutputType.FILE_PER_RESOURCE)
    return cdk8s.App(outdir=str(outdir), output_file_extension=".yaml", yaml_output_type=layout)


def add_environment(app: cdk8s.App, env: Environment, components: Sequence[Component] = ()) -> list[Chart]:
    """Add ``env``'s charts to ``app`` (see :func:`new_app`; its outdir is dist/<env>/) and copy its extra
    folders into the outdir; ``app.synth()`` writes the rest. ``components``: Applications for charts
    the caller added to ``app`` itself. Everything is checked before the first file is copied."""
    charts: list[Chart] = []

    def add(chart: Chart) -> None:
        charts.append(chart)

    if env.pki.issuer.create_ca_chain:
        add(PkiChart(app, "pki", env))
    add(MeshChart(app, "mesh", env))
    add(GatewayChart(app, "gateway", env))
    for ns in policed_namespaces(env):
        add(NetworkPoliciesChart(app, f"networkpolicies-{ns}", ns, env))
    for model in env.models:
        add(ModelChart(app, f"model-{model.name}", model, env))
    if env.monitoring.enabled:
        add(MetricsChart(app, MetricsChart.FOLDER, env))
    if env.probes.enabled:
        add(ProbesChart(app, "probes", env))
    # last: the namespaces' Pod Security levels follow the pods every other chart defines
    stack_objects = [o.to_json() for c in charts for o in c.api_objects]
    add(NamespacesChart(app, "namespaces", env, stack_objects))
    apps = [*(chart_component(c) for c in charts), *components]
    unscoped: set[tuple[str, str]] = set()  # (group, kind) of user objects without a namespace
    if env.charts:  # one project: its modules stay imported while its charts are built, then go
        with project_imports(env.charts[0].project_root):
            for spec in env.charts:
                user = ExtensionChart(app, spec.name, wave=spec.wave, destination_namespace=spec.namespace)
                objects = build_chart(user, spec, env)
                unscoped |= {(o["apiVersion"].rpartition("/")[0], o["kind"]) for o in objects
                             if not (o.get("metadata") or {}).get("namespace")}
                apps.append(Component(spec.name, spec.wave, spec.namespace, spec.name, ssa=True))
    extras = [check_folder(spec) for spec in env.extra]
    for checked in extras:
        unscoped |= {(o.group, o.kind) for o in checked.objects if o.namespace is None}
        apps.append(Component(checked.spec.folder, checked.spec.wave, checked.spec.namespace,
                              checked.spec.folder, ssa=True))
    ArgoCdChart(app, "argocd", env, apps, cluster_kinds=unscoped)
    BootstrapChart(app, "bootstrap", env)
    for checked in extras:
        copy_folder(checked, Path(app.outdir))
    return charts


def synth_environment(env: Environment, outdir: Path) -> None:
    app = new_app(outdir)
    add_environment(app, env)
    app.synth()


def synth_fleet(envs: list[Environment], outdir: Path) -> None:
    """dist/fleet/: the ApplicationSet over every environment, and argocd-config/ (nothing when there are
    no environments)."""
    if not envs:
        return
    ordered = sorted(envs, key=lambda e: e.name)
    app = new_app(outdir, per_chart_folder=False)
    FleetChart(app, FLEET_DIR, ordered)
    app.synth()
    config = new_app(outdir / ARGOCD_CONFIG_DIR, per_chart_folder=False)
    ArgoConfigChart(config, ARGOCD_CONFIG_DIR, ordered)
    config.synth()
    write_files(ordered, outdir / ARGOCD_CONFIG_DIR)
