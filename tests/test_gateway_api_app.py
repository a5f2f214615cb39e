"""platform.gatewayAPI: an optional Application for the standard-channel Gateway API CRDs, for clusters
without a managed Gateway API (GKE installs them itself: the default installs nothing)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import REPO, example_env_dirs

WAVE = "argocd.argoproj.io/sync-wave"
ARGOCD = REPO / "tests" / "golden" / "variants" / "argocd"  # tests/golden/envs/variants.yaml installs it


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_gateway_api_crds_application_is_standard_channel_early_and_never_prunes() -> None:
    app = _load(ARGOCD / "Application.variants-gateway-api.yaml")
    assert app["spec"]["source"] == {"repoURL": "https://github.com/kubernetes-sigs/gateway-api.git",
                                     "targetRevision": "v1.2.1", "path": "config/crd/standard"}
    policy = app["spec"]["syncPolicy"]
    assert "ServerSideApply=true" in policy["syncOptions"]  # HTTPRoute's CRD is 336 KB
    # shared cluster infrastructure: never pruned, and deleting the Application leaves the CRDs
    assert policy["automated"]["prune"] is False and "finalizers" not in app["metadata"]
    waves = {p.stem.removeprefix("Application.variants-"): int(_load(p)["metadata"]["annotations"][WAVE])
             for p in ARGOCD.glob("Application.*.yaml")}
    assert waves.pop("gateway-api") < min(waves.values())


def test_the_project_admits_the_gateway_api_source_and_kinds() -> None:
    project = _load(ARGOCD / "AppProject.golden-project.yaml")
    assert "https://github.com/kubernetes-sigs/gateway-api.git" in project["spec"]["sourceRepos"]
    admitted = {(k["group"], k["kind"]) for k in project["spec"]["clusterResourceWhitelist"]}
    assert ("apiextensions.k8s.io", "CustomResourceDefinition") in admitted
    assert ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") in admitted  # v1.5's safe-upgrades


def test_no_gateway_api_application_by_default() -> None:
    env_dirs = example_env_dirs()
    assert env_dirs
    for env_dir in env_dirs.values():
        assert not list((env_dir / "argocd").glob("Application.*-gateway-api.yaml"))
