"""Build one cdk8s App per environment (and one for the fleet) and synthesize it.

Output layout: dist/<env>/<folder>/<Kind>.<name>.yaml, one folder per Argo CD Application, and
dist/fleet/<Kind>.<name>.yaml for the ApplicationSet that fans the environments out, plus
dist/fleet/argocd-config/ (what Argo CD itself needs: health checks, kustomize versions).
"""

from __future__ import annotations

from pathlib import Path

import cdk8s
from infergate.charts.argocd import ArgoCdChart, BootstrapChart, FleetChart, chart_component
from infergate.charts.argocd_config import ArgoConfigChart, write_files
from infergate.charts.common import Chart
from infergate.charts.gateway import GatewayChart
from infergate.charts.mesh import MeshChart
from infergate.charts.model import ModelChart
from infergate.charts.namespaces import NamespacesChart
from infergate.charts.netpol import NetworkPoliciesChart, policed_namespaces
from infergate.charts.pki import PkiChart

from infergate.synth.config import Environment

FLEET_DIR = "fleet"
ARGOCD_CONFIG_DIR = "argocd-config"  # under dist/fleet/


def _app(outdir: Path, per_chart_folder: bool = True) -> cdk8s.App:
    layout = (cdk8s.YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE if per_chart_folder
              else cdk8s.YamlOutputType.FILE_PER_RESOURCE)
    return cdk8s.App(outdir=str(outdir), output_file_extension=".yaml", yaml_output_type=layout)


def synth_environment(env: Environment, outdir: Path) -> None:
    app = _app(outdir)
    folders: list[Chart] = []

    def add(chart: Chart) -> None:
        folders.append(chart)

    add(NamespacesChart(app, "namespaces", env))
    if env.gateway.tls.issuer.create_ca_chain:
        add(PkiChart(app, "pki", env))
    add(MeshChart(app, "mesh", env))
    add(GatewayChart(app, "gateway", env))
    for ns in policed_namespaces(env):
        add(NetworkPoliciesChart(app, f"networkpolicies-{ns}", ns, env))
    for model in env.models:
        add(ModelChart(app, f"model-{model.name}", model, env))
    ArgoCdChart(app, "argocd", env, [chart_component(c) for c in folders])
    BootstrapChart(app, "bootstrap", env)
    app.synth()


def synth_fleet(envs: list[Environment], outdir: Path) -> None:
    """dist/fleet/: the ApplicationSet over every environment, and argocd-config/ (nothing when there are
    no environments)."""
    if not envs:
        return
    ordered = sorted(envs, key=lambda e: e.name)
    app = _app(outdir, per_chart_folder=False)
    FleetChart(app, FLEET_DIR, ordered)
    app.synth()
    config = _app(outdir / ARGOCD_CONFIG_DIR, per_chart_folder=False)
    ArgoConfigChart(config, ARGOCD_CONFIG_DIR, ordered)
    config.synth()
    write_files(ordered, outdir / ARGOCD_CONFIG_DIR)
