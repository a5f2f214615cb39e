"""Platform profiles: one table (infergate/synth/data/profiles.yaml) that synth, validate and lint read.

Switching an environment's profile moves the pool API, the route backends, the objectives, the
LLMInferenceService version and Istio together; a combination no profile serves is a one-line config
error; each dist/<env> validates against its own profile's CRDs; the KServe presets each profile pins agree
with what the charts assume of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infergate.core import podsecurity
from infergate.crds import lockfile as lock
from infergate.synth import profiles
from infergate.synth.config import SCHEMA_PATH, load_environment, startup_budget
from infergate.validate import validate_paths
from tests.conftest import FIXTURE_ENVS, make_project, run_infergate

PATTERN1 = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")
# pattern1 pins Istio and the EPP image by hand: moving to upstream-2026 means dropping the Istio pin
UPSTREAM = ("profile: upstream-2026\n" + PATTERN1).replace("  version: v1.26.6          # OSSM 3.1.x\n", "")


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _synth(root: Path, envs: dict[str, str]) -> tuple[int, str]:
    make_project(root, envs)
    result = run_infergate("synth", cwd=root)
    return result.returncode, result.stdout + result.stderr


def _objects(folder: Path) -> dict[str, dict[str, Any]]:
    return {f"{p.parent.name}/{p.name}": yaml.safe_load(p.read_text())
            for p in sorted(folder.rglob("*.yaml"))}


def test_schema_and_table_name_the_same_profiles() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["properties"]["profile"]["enum"] == list(profiles.names())
    assert profiles.default_name() == "odh-v0.15"


def test_every_profile_names_pinned_files_of_the_right_kind() -> None:
    kinds = {e.name: e.kind for e in lock.read_lock()}
    for profile in profiles.profiles().values():
        assert {kinds.get(name) for name in profile.crds} == {"crd"}, profile.name
        assert {kinds.get(name) for name in profile.presets} == {"preset"}, profile.name
        assert profile.objective_kinds and profile.istio_minors


def _preset(name: str) -> dict[str, Any]:
    return yaml.safe_load(lock.verified_path(lock.entry_named(name)).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", profiles.names())
def test_pinned_presets_agree_with_what_the_charts_assume(name: str) -> None:
    """vLLM's certificate is the preset's `tls-certs` volume at /var/run/kserve/tls (charts/llmisvc.py
    replaces it upstream), on port 8000; KServe's own route uses the profile's pool group; KServe's own EPP
    (router: managed) meets Pod Security restricted, which the namespaces chart assumes."""
    profile = profiles.get(name)

    def preset(suffix: str) -> dict[str, Any]:
        return _preset(next(p for p in profile.presets if p.endswith(suffix)))

    template = preset("config-llm-template")["spec"]["template"]
    (main,) = [c for c in template["containers"] if c["name"] == "main"]
    assert {"mountPath": "/var/run/kserve/tls", "name": "tls-certs", "readOnly": True} in main["volumeMounts"]
    assert any(v["name"] == "tls-certs" and "secret" in v for v in template["volumes"])
    assert {"containerPort": 8000, "protocol": "TCP"}.items() <= main["ports"][0].items()
    route = preset("router-route")
    groups = {b.get("group") for rule in route["spec"]["router"]["route"]["http"]["spec"]["rules"]
              for b in rule["backendRefs"] if b["kind"] == "InferencePool"}
    assert groups == {profile.pool_group}
    scheduler = preset("llm-scheduler")
    pod = scheduler["spec"]["router"]["scheduler"]["template"]
    assert podsecurity.restricted_problems(pod, podsecurity.containers_of(pod)) == []


def test_switching_the_profile_moves_pool_routes_objectives_and_istio_together(tmp_path: Path) -> None:
    code, out = _synth(tmp_path / "p", {"old": PATTERN1, "new": UPSTREAM})
    assert code == 0, out
    dist = tmp_path / "p" / "dist"
    old, new = _objects(dist / "old"), _objects(dist / "new")
    model = "model-qwen2-3b-pattern1"
    pool = f"{model}/InferencePool.qwen2-3b-pattern1-inference-pool.yaml"
    assert (old[pool]["apiVersion"], new[pool]["apiVersion"]) == (
        "inference.networking.x-k8s.io/v1alpha2", "inference.networking.k8s.io/v1")
    assert "extensionRef" in old[pool]["spec"] and "endpointPickerRef" in new[pool]["spec"]
    route = f"{model}/HTTPRoute.qwen2-3b-pattern1-route.yaml"
    assert [b["group"] for r in old[route]["spec"]["rules"] for b in r["backendRefs"]] == [
        "inference.networking.x-k8s.io"]
    assert [b["group"] for r in new[route]["spec"]["rules"] for b in r["backendRefs"]] == [
        "inference.networking.k8s.io"]
    objective = f"{model}/InferenceObjective.qwen2-3b-pattern1.yaml"
    assert old[objective]["spec"]["poolRef"]["group"] == "inference.networking.x-k8s.io"
    assert new[objective]["spec"]["poolRef"]["group"] == "inference.networking.k8s.io"
    istio = "mesh/Istio.default.yaml"
    assert (old[istio]["spec"]["version"], new[istio]["spec"]["version"]) == ("v1.26.6", "v1.28.3")
    llmisvc = f"{model}/LLMInferenceService.qwen2-3b-pattern1.yaml"
    assert (old[llmisvc]["apiVersion"], new[llmisvc]["apiVersion"]) == (
        "serving.kserve.io/v1alpha1", "serving.kserve.io/v1alpha2")
    assert "criticality" in old[llmisvc]["spec"]["model"]
    assert "criticality" not in new[llmisvc]["spec"]["model"]
    sail = "argocd/Application.{}-sail-operator.yaml"
    assert old[sail.format("old")]["spec"]["source"]["targetRevision"] == "1.27.3"
    assert new[sail.format("new")]["spec"]["source"]["targetRevision"] == "1.28.3"
    assert "argocd/Application.new-kserve-crds.yaml" in new
    assert "argocd/Application.old-kserve-crds.yaml" not in old
    epp = f"{model}/Deployment.qwen2-3b-pattern1-epp.yaml"
    args = new[epp]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--pool-group") + 1] == "inference.networking.k8s.io"
    # each validates against its own profile's CRDs; the other profile's CRDs reject it
    findings, summary = validate_paths([dist])
    assert findings == [] and summary["profile"] == "odh-v0.15, upstream-2026"
    wrong, _ = validate_paths([dist / "new" / model], profile="odh-v0.15")
    # no v1alpha2 LLMInferenceService in ODH 0.15 (V003), and its v1 pool has no appProtocol (V001)
    assert "V003" in {f.code for f in wrong} and {f.code for f in wrong} <= {"V001", "V003"}


def test_the_old_combination_given_by_hand_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    stale = "profile: upstream-2026\n" + PATTERN1  # still pins Istio v1.26.6
    code, out = _synth(tmp_path / "p", {"stale": stale})
    assert code == 2 and len(out.strip().splitlines()) == 1, out
    line = _line(stale, "version: v1.26.6")
    assert f"stale.yaml:{line}: mesh.version: Istio v1.26.6 cannot route to the " \
           "inference.networking.k8s.io/v1 InferencePools of profile upstream-2026" in out
    forward = PATTERN1.replace("version: v1.26.6", "version: v1.28.0")  # the first stumble
    code, out = _synth(tmp_path / "q", {"forward": forward})
    assert code == 2 and "profile upstream-2026 serves it" in out
    assert f"forward.yaml:{_line(forward, 'v1.28.0')}: mesh.version" in out


@pytest.mark.parametrize(("edit", "key", "says"), [
    (lambda t: t + "operators:\n  sailOperator: {version: 1.27.3}\n", "operators.sailOperator.version",
     "installs Istio up to v1.27.x"),
    (lambda t: t.replace("      secureServing: false",
                         "      secureServing: false\n      objectiveKind: InferenceModel"),
     "models[0].epp.objectiveKind", "serves InferenceObjective"),
    (lambda t: t + "operators:\n  kserve: {revision: a445a17f482ffdb7287830e5d8ed58cee0c915f4}\n",
     "operators.kserve.revision", "installs KServe from its Helm charts"),
])
def test_combinations_the_profile_does_not_serve_are_config_errors(tmp_path: Path, edit: Any, key: str,
                                                                   says: str) -> None:
    code, out = _synth(tmp_path / "p", {"bad": edit(UPSTREAM)})
    assert code == 2 and f": {key}: " in out and says in out, out


def test_startup_budget_grows_with_the_model_and_can_be_overridden(tmp_path: Path) -> None:
    assert startup_budget(3.0) == 870 and startup_budget(8.0) == 1320 and startup_budget(None) == 1320
    assert startup_budget(405.0) == 3600  # capped
    text = PATTERN1.replace("      dtype: half", "      dtype: half\n      startupSeconds: 1800")
    make_project(tmp_path, {"p": text})
    env = load_environment(tmp_path / "environments" / "p.yaml")
    assert env.models[0].parameters_b == 3.0 and env.models[0].vllm.startup_seconds == 1800
