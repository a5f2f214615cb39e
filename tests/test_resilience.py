"""No single point of failure the user did not choose: EPP replicas with a PodDisruptionBudget or leader
election, startup probes sized from the model, namespaces Argo CD never deletes while they hold secrets made
out of band, and Pod Security levels the pods meet."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from infergate.core.podsecurity import ENFORCE_LABEL
from infergate.synth.config import load_environment
from tests.conftest import REPO, example_env_dirs, example_env_files

GOLDEN = REPO / "tests" / "golden"
ENV_DIRS = {**example_env_dirs(), "variants": GOLDEN / "variants", "upstream": GOLDEN / "upstream"}
ENV_FILES = {**example_env_files(), "variants": GOLDEN / "envs" / "variants.yaml",
             "upstream": GOLDEN / "envs" / "upstream.yaml"}
KEEP = "Prune=false,Delete=false"


def _objects(env: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(ENV_DIRS[env].rglob("*.yaml"))
            if p.parent.name not in ("cluster-issuers",)]


def _find(env: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in _objects(env) if o and o["kind"] == kind]


@pytest.mark.parametrize("env", sorted(ENV_DIRS))
def test_every_model_server_has_a_startup_probe_as_long_as_its_budget(env: str) -> None:
    config = load_environment(ENV_FILES[env])
    budget = {m.name: m.vllm.startup_seconds for m in config.models}
    services = _find(env, "LLMInferenceService")
    assert services
    for svc in services:
        (main,) = [c for c in svc["spec"]["template"]["containers"] if c["name"] == "main"]
        probe = main["startupProbe"]
        assert probe["httpGet"]["path"] == "/health"
        assert probe["periodSeconds"] * probe["failureThreshold"] >= budget[svc["metadata"]["name"]]
        assert probe["periodSeconds"] * (probe["failureThreshold"] - 1) < budget[svc["metadata"]["name"]]
        # liveness no longer has to outwait loading: it starts once the startup probe passed
        assert main["livenessProbe"]["initialDelaySeconds"] == 0


@pytest.mark.parametrize("env", sorted(ENV_DIRS))
def test_endpoint_pickers_with_replicas_are_protected(env: str) -> None:
    config = load_environment(ENV_FILES[env])
    budgets = {p["metadata"]["name"]: p for p in _find(env, "PodDisruptionBudget")}
    for model in (m for m in config.models if m.router == "explicit"):
        (deploy,) = [d for d in _find(env, "Deployment") if d["metadata"]["name"] == model.epp_name]
        spec = deploy["spec"]
        assert spec["replicas"] == model.epp.replicas
        pod = spec["template"]["spec"]
        args = pod["containers"][0]["args"]
        if model.epp.replicas == 1:
            assert model.epp_name not in budgets and "topologySpreadConstraints" not in pod
            continue
        (spread,) = pod["topologySpreadConstraints"]
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        assert spread["whenUnsatisfiable"] == "DoNotSchedule"
        if model.epp.high_availability == "active-active":
            pdb = budgets[model.epp_name]["spec"]
            assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": spec["selector"]["matchLabels"]}}
            assert "--ha-enable-leader-election" not in args
        else:  # only the leader is Ready: a budget would block every drain of its node
            assert model.epp_name not in budgets
            assert "--ha-enable-leader-election" in args and spec["strategy"] == {"type": "Recreate"}
            probes = pod["containers"][0]
            assert probes["livenessProbe"]["grpc"]["service"] == "liveness"
            assert probes["readinessProbe"]["grpc"]["service"] == "readiness"
            (role,) = [r for r in _find(env, "Role") if r["metadata"]["name"] == model.epp_name]
            assert any("leases" in rule["resources"] for rule in role["rules"])


def test_some_environment_runs_each_high_availability_mode() -> None:
    modes = {(m.epp.replicas > 1, m.epp.high_availability) for f in ENV_FILES.values()
             for m in load_environment(f).models}
    assert {(True, "active-active"), (True, "leader-election")} <= modes


@pytest.mark.parametrize("env", sorted(ENV_DIRS))
def test_namespaces_carry_pod_security_and_keep_their_secrets(env: str) -> None:
    config = load_environment(ENV_FILES[env])
    secret_namespaces = {ns for ns, _ in config.platform.provided_secrets}
    namespaces = {n["metadata"]["name"]: n["metadata"] for n in _find(env, "Namespace")}
    assert namespaces
    for name, meta in namespaces.items():
        level = meta["labels"][ENFORCE_LABEL]
        assert meta["labels"][f"{ENFORCE_LABEL}-version"] == f"v{config.kubernetes_version}"
        expected = config.pod_security.get(name) or (
            "privileged" if config.mesh.cni_enabled and name == config.mesh.cni_namespace
            else "baseline" if name in (config.gateway.namespace, config.mesh.namespace)
            else "restricted")
        assert level == expected, name
        kept = (meta.get("annotations") or {}).get("argocd.argoproj.io/sync-options") == KEEP
        assert kept == (name in secret_namespaces), name


def test_the_model_size_is_read_from_its_name(tmp_path: Path) -> None:
    mixtral = load_environment(GOLDEN / "envs" / "variants.yaml").models[1]
    assert mixtral.parameters_b == 56.0 and mixtral.vllm.startup_seconds == 3600  # 8x7B, capped at an hour
    assert math.isclose(load_environment(GOLDEN / "envs" / "upstream.yaml").models[1].parameters_b or 0, 3.8)
