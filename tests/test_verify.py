"""`infergate verify` against the hermetic API server: the examples, a planted rejection, the dry-run path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from infergate import cli
from infergate.apiserver.client import KubeClient, kubeconfig_text
from infergate.verify.command import run_verify
from tests.conftest import EXAMPLES, example_projects, requires_examples

pytestmark = pytest.mark.slow


def _verify(path: Path, **options: Any) -> tuple[dict[str, Any], int, list[Any]]:
    defaults: dict[str, Any] = {"apiserver_mode": None, "kubeconfig": None, "context": None, "envs": (),
                                "fmt": "json", "fail_on": "error", "binaries": None, "project": None}
    output, code, results = run_verify(path, progress=lambda _line: None, **{**defaults, **options})
    return json.loads(output), code, results


@pytest.fixture
def on_fixture_server(hermetic_apiserver, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """verify's `--apiserver local` finds the session's server through its state directory."""
    monkeypatch.setenv("INFERGATE_APISERVER_STATE", hermetic_apiserver.state.state_dir)
    return hermetic_apiserver


def _profile(project: Path) -> str:
    from infergate.apiserver.crds import profiles_of

    return ",".join(sorted(profiles_of([project / "dist"])))


DEFAULT_PROFILE_EXAMPLES = [p for p in example_projects() if _profile(p) == "odh-v0.15"]
OTHER_PROFILE_EXAMPLES = [p for p in example_projects() if _profile(p) != "odh-v0.15"]


@requires_examples
@pytest.mark.parametrize("project", DEFAULT_PROFILE_EXAMPLES, ids=lambda p: p.name)
def test_examples_have_no_rejections_and_apply_idempotently(project: Path, on_fixture_server) -> None:  # type: ignore[no-untyped-def]
    _assert_clean(project)


@requires_examples
@pytest.mark.parametrize("project", OTHER_PROFILE_EXAMPLES, ids=lambda p: p.name)
def test_examples_of_another_profile_get_a_server_of_their_own(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One API server serves one profile's CRDs: verify without a running server starts a throwaway one
    with the CRDs of the project's profile (the session server holds the default profile's)."""
    from infergate.apiserver.testing import skip_reason

    if skip_reason():
        pytest.skip(skip_reason())
    monkeypatch.setenv("INFERGATE_APISERVER_STATE", str(project / ".no-server-here"))
    _assert_clean(project)


def _assert_clean(project: Path) -> None:
    report, code, results = _verify(project / "dist")
    codes = {f["code"] for f in report["findings"]}
    assert "API001" not in codes and "API003" not in codes and "E001" not in codes, report["findings"]
    # drift-free output: the server adds no field, shown by Argo CD's diff (API002) or not (API005)
    assert "API002" not in codes and "API005" not in codes, report["findings"]
    assert code == 0
    for result in results:
        assert result.applied == result.objects > 0
        assert result.unchanged == result.applied  # a second apply changed no resourceVersion
    envs = {p.stem for p in (project / "environments").glob("[!_]*.yaml")}
    assert {r.env for r in results} >= {*envs, "fleet"}


def _live_snapshot(client: KubeClient, kinds: list[tuple[str, str]]) -> dict[str, str]:
    """resourceVersion of every object of these kinds, in every namespace."""
    snapshot = {}
    for api_version, kind in kinds:
        res = client.resource(api_version, kind)
        assert res is not None
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        for obj in client.request("GET", f"{base}/{res.plural}")["items"]:
            meta = obj["metadata"]
            snapshot[f"{kind}/{meta.get('namespace')}/{meta['name']}"] = meta["resourceVersion"]
    return snapshot


@requires_examples
def test_kubeconfig_dry_run_leaves_the_server_unchanged(on_fixture_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    state = on_fixture_server.state
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(state.endpoint()))
    dist = EXAMPLES / "pattern1" / "dist" / "pattern1"
    kinds = [("v1", "Namespace"), ("v1", "Service"), ("apps/v1", "Deployment"), ("v1", "ConfigMap"),
             ("networking.k8s.io/v1", "NetworkPolicy"), ("gateway.networking.k8s.io/v1", "HTTPRoute"),
             ("argoproj.io/v1alpha1", "Application"), ("sailoperator.io/v1", "Istio"),
             ("serving.kserve.io/v1alpha1", "LLMInferenceService"), ("cert-manager.io/v1", "ClusterIssuer")]
    with state.client() as client:
        before = _live_snapshot(client, kinds)
        report, code, results = _verify(dist, kubeconfig=kubeconfig)
        after = _live_snapshot(client, kinds)
    assert before == after
    assert report["summary"]["mode"] == "dry-run"
    blocking = [f for f in report["findings"] if f["code"] in ("API001", "API002", "API003")]
    assert not blocking, report["findings"]
    assert code == 0 and results[0].applied > 0


@requires_examples
def test_planted_invalid_object_is_rejected_at_its_line(on_fixture_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = tmp_path / "dist" / "pattern1"
    shutil.copytree(EXAMPLES / "pattern1" / "dist" / "pattern1", env)
    route = env / "gateway" / "HTTPRoute.inference-gateway-http-redirect.yaml"
    text = route.read_text()
    assert "statusCode: 301" in text
    route.write_text(text.replace("statusCode: 301", "statusCode: 299"))
    line = route.read_text().splitlines().index("            statusCode: 299") + 1
    report, code, _results = _verify(env)
    rejected = [f for f in report["findings"] if f["code"] == "API001"]
    assert code == 1 and len(rejected) == 1, report["findings"]
    finding = rejected[0]
    assert finding["file"] == str(route) and finding["line"] == line
    assert "statusCode" in finding["message"] and "Unsupported value: 299" in finding["message"]
    assert finding["kind"] == "HTTPRoute" and finding["name"] == "inference-gateway-http-redirect"


def test_bad_kubeconfig_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("kind: Config\ncurrent-context: nowhere\n")
    dist = tmp_path / "dist"
    dist.mkdir()
    result = CliRunner().invoke(cli.main, ["verify", str(dist), "--kubeconfig", str(bad)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"error: {bad}: unusable kubeconfig: no context named 'nowhere'")


@requires_examples
def test_drift_follows_the_applications_sync_mode(on_fixture_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A defaulted `matches` in an atomic list: the legacy diff of a client-side Application hides it
    (API005); with ServerSideApply=true it shows (API002). The charts write it out (drift-free output), so
    the test takes it out of a copy of the redirect route, as the charts emitted it before."""
    env = tmp_path / "dist" / "pattern1"
    shutil.copytree(EXAMPLES / "pattern1" / "dist" / "pattern1", env)
    route = "gateway/HTTPRoute.inference-gateway-http-redirect.yaml"
    emitted = (env / route).read_text()
    written_out = ("    - matches:\n        - path:\n            type: PathPrefix\n            value: /\n"
                   "      filters:\n")
    assert written_out in emitted
    (env / route).write_text(emitted.replace(written_out, "    - filters:\n"))

    def matches_finding(report: dict[str, Any]) -> dict[str, Any]:
        (found,) = [f for f in report["findings"]
                    if f["file"] == str(env / route) and f["path"] == "spec.rules[0].matches"]
        return found

    client_side = matches_finding(_verify(env)[0])
    assert client_side["code"] == "API005" and "ServerSideApply=true" in client_side["message"]
    app = env / "argocd" / "Application.pattern1-gateway.yaml"
    text = app.read_text()
    ssa = "      - PruneLast=true\n      - ServerSideApply=true\n"
    app.write_text(text.replace("      - PruneLast=true\n", ssa))
    server_side = matches_finding(_verify(env)[0])
    assert server_side["code"] == "API002" and server_side["severity"] == "warning"
    assert '"type": "PathPrefix", "value": "/"' in server_side["message"]


@requires_examples
def test_examples_are_drift_free_even_under_server_side_apply(on_fixture_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The fields the server used to add (redirect `matches`, backendRef `weight`, Istio `updateStrategy`)
    are written out: with every Application on ServerSideApply=true, verify reports no API002/API005."""
    env = tmp_path / "dist" / "pattern1"
    shutil.copytree(EXAMPLES / "pattern1" / "dist" / "pattern1", env)
    for app in (env / "argocd").glob("Application.*.yaml"):
        text = app.read_text()
        if "ServerSideApply=true" not in text and "      - PruneLast=true\n" in text:
            ssa = "      - PruneLast=true\n      - ServerSideApply=true\n"
            app.write_text(text.replace("      - PruneLast=true\n", ssa))
    report, _code, _ = _verify(env)
    drift = [f for f in report["findings"] if f["code"] in ("API002", "API005")]
    assert drift == [], drift


@requires_examples
def test_probe_jobs_are_accepted_by_the_api_server(on_fixture_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The isolation probes (off in the examples) and the smoke hooks, applied to the real server as
    Argo CD would: no rejection, idempotent."""
    from tests.conftest import run_infergate

    src = EXAMPLES / "pattern3"
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(src / "infergate.toml", root)
    shutil.copytree(src / "environments", root / "environments")
    with (root / "environments" / "pattern3.yaml").open("a", encoding="utf-8") as f:
        f.write("\nprobes: {enabled: true}\n")
    assert run_infergate("synth", cwd=root).returncode == 0
    assert list((root / "dist" / "pattern3" / "probes").glob("Job.*.yaml"))
    report, code, results = _verify(root / "dist")
    codes = {f["code"] for f in report["findings"]}
    assert "API001" not in codes and "API003" not in codes, report["findings"]
    assert code == 0 and all(r.unchanged == r.applied for r in results)
