"""Environment `monitoring:` (issue 13 item 4): the monitors each kind emits, validated against the pinned
CRDs, linted clean, and the NetworkPolicies admitting the scraper on exactly the metrics ports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infergate.core.errors import ConfigError
from infergate.netpol.command import cluster_from_path
from infergate.netpol.flows import violations
from infergate.netpol.security_model import security_model
from infergate.synth.config import load_environment
from tests.conftest import FIXTURE_ENVS, make_project, run_infergate

BASE = yaml.safe_load((FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8"))
NS = BASE["models"][0]["namespace"]
MODEL = BASE["models"][0]["name"]
PROM_LABELS = {"app.kubernetes.io/name": "prometheus", "prometheus": "k8s"}


def _env(monitoring: dict[str, Any] | None, vllm_tls: bool = True) -> str:
    doc = json.loads(json.dumps(BASE))
    if monitoring is not None:
        doc["monitoring"] = monitoring
    doc["models"][0].setdefault("vllm", {})["tls"] = vllm_tls
    return yaml.safe_dump(doc, sort_keys=False)


ENVS = {
    "gmp": _env({"kind": "gmp"}),
    "promop": _env({"kind": "prometheus-operator", "namespace": "monitoring", "podLabels": PROM_LABELS,
                    "monitorLabels": {"release": "prom"}, "interval": "15s"}),
    "none": _env(None),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("monitoring") / "p", ENVS)
    result = run_infergate("synth", "--project", str(root))
    assert result.returncode == 0, result.stderr
    return root


def _load(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))}


def test_gmp_emits_podmonitorings_with_the_internal_ca(project: Path) -> None:
    metrics = _load(project / "dist" / "gmp" / "metrics")
    vllm = metrics[f"PodMonitoring.{MODEL}-vllm-metrics.yaml"]
    assert vllm["apiVersion"] == "monitoring.googleapis.com/v1" and vllm["metadata"]["namespace"] == NS
    assert vllm["spec"]["selector"]["matchLabels"]["kserve.io/component"] == "workload"
    (ep,) = vllm["spec"]["endpoints"]
    assert (ep["port"], ep["scheme"], ep["path"]) == ("https", "https", "/metrics")
    assert ep["tls"] == {"ca": {"secret": {"name": "metrics-scrape-trust", "key": "ca.crt"}},
                         "serverName": f"{MODEL}-kserve-workload-svc.{NS}.svc.cluster.local"}
    (epp,) = metrics[f"PodMonitoring.{MODEL}-epp-metrics.yaml"]["spec"]["endpoints"]
    assert (epp["port"], epp["scheme"]) == ("metrics", "http")
    binding = metrics["RoleBinding.metrics-scrape-trust-reader.yaml"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "collector", "namespace": "gmp-system"}]
    role = metrics["Role.metrics-scrape-trust-reader.yaml"]
    assert role["rules"][0]["resourceNames"] == ["metrics-scrape-trust"]
    assert "Certificate.metrics-scrape-trust.yaml" in metrics
    app = _load(project / "dist" / "gmp" / "argocd")["Application.gmp-metrics.yaml"]
    assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "3"


def test_prometheus_operator_emits_podmonitors(project: Path) -> None:
    metrics = _load(project / "dist" / "promop" / "metrics")
    # prometheus-operator reads the CA secret with its own rights: no Role for it
    assert sorted(metrics) == ["Certificate.metrics-scrape-trust.yaml",
                               f"PodMonitor.{MODEL}-epp-metrics.yaml",
                               f"PodMonitor.{MODEL}-vllm-metrics.yaml"]
    vllm = metrics[f"PodMonitor.{MODEL}-vllm-metrics.yaml"]
    assert vllm["metadata"]["labels"]["release"] == "prom"
    assert vllm["spec"]["podMetricsEndpoints"] == [
        {"port": "https", "path": "/metrics", "scheme": "https", "interval": "15s", "tlsConfig": {
            "ca": {"secret": {"name": "metrics-scrape-trust", "key": "ca.crt"}},
            "serverName": f"{MODEL}-kserve-workload-svc.{NS}.svc.cluster.local"}}]
    (epp,) = metrics[f"PodMonitor.{MODEL}-epp-metrics.yaml"]["spec"]["podMetricsEndpoints"]
    assert (epp["port"], epp["scheme"]) == ("metrics", "http")


def test_none_changes_nothing(project: Path) -> None:
    dist = project / "dist" / "none"
    assert not (dist / "metrics").exists()
    epp = next((dist / f"model-{MODEL}").glob("Deployment.*-epp.yaml")).read_text(encoding="utf-8")
    assert "--metrics-endpoint-auth" not in epp
    gmp_epp = next((project / "dist" / "gmp" / f"model-{MODEL}").glob("Deployment.*-epp.yaml"))
    assert "--metrics-endpoint-auth=false" in gmp_epp.read_text(encoding="utf-8")


def test_validates_against_pinned_crds_and_lints_clean(project: Path) -> None:
    for env in ENVS:
        dist = project / "dist" / env
        result = run_infergate("validate", str(dist), cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
        result = run_infergate("lint", str(dist), "--format", "json", "--fail-on", "info", cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr


def _cells(dist: Path) -> dict[tuple[str, str, int], str]:
    result = run_infergate("flows", str(dist), "--format", "json")
    assert result.returncode == 0, result.stderr
    return {(c["from"], c["to"], c["port"]): c["status"] for c in json.loads(result.stdout)["flows"]}


@pytest.mark.parametrize("env", ["gmp", "promop"])
def test_scraper_reaches_exactly_the_metrics_ports(project: Path, env: str) -> None:
    cells = _cells(project / "dist" / env)
    scraper = {(dst, port): status for (src, dst, port), status in cells.items()
               if src == "monitoring" and dst in ("model-server", "epp")}
    assert scraper == {("model-server", 8000): "allowed", ("epp", 9002): "denied",
                       ("epp", 9003): "denied", ("epp", 9090): "allowed"}
    for src in ("any-pod", "model-server", "gateway", "smoke"):  # nobody else on the metrics port
        assert cells[(src, "epp", 9090)] == "denied", src
    assert list(violations(cluster_from_path(project / "dist" / env), security_model())) == []


def test_no_scraper_without_monitoring(project: Path) -> None:
    cells = _cells(project / "dist" / "none")
    assert not [k for k in cells if "monitoring" in k[:2]]
    assert cells[("any-pod", "epp", 9090)] == "denied"


def _copy(project: Path, tmp_path: Path) -> Path:
    """dist/gmp in a project of its own (its environment file gives the platform facts), to edit."""
    root = make_project(tmp_path / "copy", {"gmp": ENVS["gmp"]})
    shutil.copytree(project / "dist" / "gmp", root / "dist" / "gmp")
    return root / "dist" / "gmp"


def test_a_scraper_in_the_wrong_namespace_breaks_the_required_flow(project: Path, tmp_path: Path) -> None:
    """The security model is checked for the declared scraper: a policy admitting other pods fails NP105."""
    dist = _copy(project, tmp_path)
    policy = dist / f"networkpolicies-{NS}" / f"NetworkPolicy.{MODEL}-vllm-ingress.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("gmp-system", "elsewhere"), encoding="utf-8")
    found = [v.spec.id for v in violations(cluster_from_path(dist), security_model())]
    assert found == ["scraper-to-model-server-metrics"]


@pytest.mark.parametrize(("old", "new", "code"), [
    ("scheme: https", "scheme: http", "MON802"),
    ("port: https", "port: metrics", "MON801"),
    ("kserve.io/component: workload", "kserve.io/component: gone", "MON803"),
])
def test_lint_catches_a_monitor_edited_out_of_step(project: Path, tmp_path: Path, old: str, new: str,
                                                   code: str) -> None:
    dist = _copy(project, tmp_path)
    monitor = dist / "metrics" / f"PodMonitoring.{MODEL}-vllm-metrics.yaml"
    text = monitor.read_text(encoding="utf-8")
    assert old in text
    monitor.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = run_infergate("lint", str(dist), "--format", "json", "--fail-on", "info", cwd=dist.parent.parent)
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert codes == {code}, result.stdout


def _write(tmp_path: Path, monitoring: Any = None, platform_extra: str = "") -> Path:
    text = _env(monitoring)
    if platform_extra:
        text = text.replace("platform:\n", f"platform:\n{platform_extra}", 1)
    path = tmp_path / "environments" / "bad.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("monitoring", "extra", "message"), [
    (None, "  monitoringNamespace: monitoring\n", "platform.monitoringNamespace: replaced by `monitoring:"),
    ({"kind": "prometheus-operator"}, "", "monitoring.kind: prometheus-operator needs `namespace`"),
    ({"kind": "none", "namespace": "x"}, "", "monitoring.namespace: kind none scrapes nothing"),
    ({"kind": "datadog"}, "", "monitoring.kind:"),
])
def test_bad_monitoring_is_one_line_naming_the_line(tmp_path: Path, monitoring: Any, extra: str,
                                                    message: str) -> None:
    path = _write(tmp_path, monitoring, extra)
    with pytest.raises(ConfigError) as caught:
        load_environment(path)
    text = str(caught.value)
    assert message in text and "\n" not in text, text
    assert caught.value.line is not None and caught.value.line > 1, text


def test_environment_model(tmp_path: Path) -> None:
    env = load_environment(_write(tmp_path, {"kind": "gmp"}))
    assert (env.monitoring.namespace, env.monitoring.pod_labels) == ("gmp-system",
                                                                     {"app.kubernetes.io/name": "collector"})
    assert env.platform.monitoring_namespace == "gmp-system"
    assert load_environment(_write(tmp_path, None)).platform.monitoring_namespace is None


def test_an_issuer_of_another_namespace_cannot_sign_the_scrape_trust(tmp_path: Path) -> None:
    """The trust certificate lives in the model namespace: an Issuer (namespaced) elsewhere cannot sign it."""
    doc = yaml.safe_load(_env({"kind": "gmp"}))
    doc["gateway"]["tls"]["issuer"] = {"kind": "Issuer", "name": "corp-ca"}
    doc["models"][0]["epp"]["secureServing"] = False  # else the picker's own certificate is refused first
    path = tmp_path / "environments" / "issuer.yaml"
    path.parent.mkdir(parents=True)
    doc["pki"] = {"issuer": {"kind": "Issuer", "name": "corp-ca"}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"models\[0\]\.namespace: monitoring trusts vLLM's certificate"):
        load_environment(path)
    doc.pop("monitoring")
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    assert not load_environment(path).monitoring.enabled
