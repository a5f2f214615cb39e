"""Autoscaling (issue 13 item 3): models[].autoscaling -> LLMInferenceService spec.scaling (KServe v0.20),
its config errors, and the golden autoscaled environment validated against the pinned v0.20 CRD (CEL
rules included) and linted (SCL9xx) against its hand-written PodMonitoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from infergate.core.errors import ConfigError
from infergate.synth import profiles, scaling
from infergate.synth.config import load_environment
from tests.conftest import FIXTURE_ENVS, REPO, make_project, run_infergate

GOLDEN = REPO / "tests" / "golden"
AUTOSCALE = (GOLDEN / "envs" / "autoscale.yaml").read_text(encoding="utf-8")
# the same environment without its extra folder (load_environment alone needs no project then)
STANDALONE = AUTOSCALE[:AUTOSCALE.index("extra:\n")]
PATTERN1 = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "env.yaml"
    path.write_text(text, encoding="utf-8")
    return load_environment(path)


def test_only_profiles_whose_crd_has_scaling_offer_it() -> None:
    assert scaling.supporting_profiles() == ["upstream-2026"]
    assert not profiles.get("odh-v0.15").kserve.scaling
    # the capability follows the pinned CRD of each profile
    for profile in profiles.profiles().values():
        crd = next(c for c in profile.crds if c.endswith("serving.kserve.io_llminferenceservices"))
        text = (REPO.parent / "shared" / "crds" / f"{crd}.yaml")
        if text.is_file():
            assert ("scaling:" in text.read_text(encoding="utf-8")) == profile.kserve.scaling, profile.name


def test_autoscaling_maps_onto_spec_scaling(tmp_path: Path) -> None:
    env = _load(tmp_path, STANDALONE)
    keda, hpa = (m.autoscaling for m in env.models)  # type: ignore[attr-defined]
    assert keda.spec() == {"minReplicas": 2, "maxReplicas": 6, "wva": {"variantCost": "10.0", "keda": {
        "pollingInterval": 15, "cooldownPeriod": 600, "initialCooldownPeriod": 1200, "idleReplicaCount": 1}}}
    assert hpa.spec() == {"minReplicas": 1, "maxReplicas": 3, "wva": {"variantCost": "4.5", "hpa": {}}}


def test_golden_llmisvc_has_scaling_and_no_replicas() -> None:
    for name in ("llama-8b", "qwen-7b"):
        obj = yaml.safe_load((GOLDEN / "autoscale" / f"model-{name}" / f"LLMInferenceService.{name}.yaml")
                             .read_text(encoding="utf-8"))
        assert obj["apiVersion"] == "serving.kserve.io/v1alpha2"
        assert "replicas" not in obj["spec"] and obj["spec"]["scaling"]["wva"]
        # KServe hands this label to the VariantAutoscaling: WVA attributes the variant to the TPU slice
        assert obj["spec"]["labels"] == {scaling.ACCELERATOR_LABEL: "tpu-v6e-slice"}


MODEL_LINE = "    autoscaling: {maxReplicas: 3, via: hpa, variantCost: \"4.5\"}\n"
ERRORS = [
    # (id, new line for MODEL_LINE, needle of the offending line, key, message fragment)
    ("min above max", "    autoscaling: {minReplicas: 5, maxReplicas: 3, via: hpa}\n", "minReplicas: 5",
     "models[1].autoscaling.minReplicas", "5 exceeds maxReplicas 3"),
    ("replicas too", "    replicas: 2\n    autoscaling: {maxReplicas: 3, via: hpa}\n", "replicas: 2",
     "models[1].replicas", "remove replicas"),
    ("keda settings on hpa", "    autoscaling: {maxReplicas: 3, via: hpa, keda: {pollingInterval: 5}}\n",
     "keda: {pollingInterval", "models[1].autoscaling.keda", "need via: keda"),
    ("idle floor", "    autoscaling: {maxReplicas: 3, via: keda, keda: {idleReplicaCount: 1}}\n",
     "idleReplicaCount", "models[1].autoscaling.keda.idleReplicaCount", "less than minReplicas 1"),
    ("no actuator", "    autoscaling: {maxReplicas: 3}\n", "maxReplicas: 3", "models[1].autoscaling",
     "'via' is a required key"),
    ("metric is not a knob", "    autoscaling: {maxReplicas: 3, via: hpa, metric: queueDepth}\n",
     "metric: queueDepth", "models[1].autoscaling.metric", "unknown key 'metric'"),
]


@pytest.mark.parametrize(("new", "needle", "key", "fragment"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_autoscaling_config_errors(tmp_path: Path, new: str, needle: str, key: str, fragment: str) -> None:
    text = STANDALONE.replace(MODEL_LINE, new)
    assert text != STANDALONE
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    message = f"{Path(str(err.value.file)).name}:{err.value.line}: {err.value}"
    line = text[:text.index(new)].count("\n") + _line(new, needle)  # the line in the replaced model
    assert f"env.yaml:{line}: {key}: " in message, message
    assert fragment in message, message


def test_odh_profile_refuses_autoscaling_in_one_line_naming_upstream(tmp_path: Path) -> None:
    text = PATTERN1.replace("    replicas: 1\n", "    autoscaling: {maxReplicas: 4, via: keda}\n", 1)
    assert text != PATTERN1
    make_project(tmp_path, {"odh": text})
    result = run_infergate("synth", "--project", str(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"odh.yaml:{_line(text, 'autoscaling:')}: models[0].autoscaling: " in lines[0]
    assert "profile odh-v0.15" in lines[0] and "profile upstream-2026 does" in lines[0]


@pytest.fixture(scope="module")
def autoscale_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden autoscaled environment synthesized as a project of its own (golden lint settings)."""
    root = tmp_path_factory.mktemp("autoscale")
    shutil.copy(GOLDEN / "infergate.toml", root / "infergate.toml")
    (root / "envs").mkdir()
    (root / "envs" / "autoscale.yaml").write_text(AUTOSCALE, encoding="utf-8")
    shutil.copytree(GOLDEN / "extra" / "autoscale", root / "extra" / "autoscale")
    result = run_infergate("synth", "--project", str(root))
    assert result.returncode == 0, result.stderr
    return root / "dist" / "autoscale"


def test_autoscaled_environment_validates_against_the_v020_crd(autoscale_dist: Path) -> None:
    result = run_infergate("validate", str(autoscale_dist))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_crd_cel_rule_refuses_replicas_with_scaling(autoscale_dist: Path, tmp_path: Path) -> None:
    # the pinned v0.20 CRD's own rule, evaluated by the validator: infergate never emits both
    path = autoscale_dist / "model-qwen-7b" / "LLMInferenceService.qwen-7b.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace("  scaling:\n", "  replicas: 2\n  scaling:\n"), encoding="utf-8")
        result = run_infergate("validate", str(autoscale_dist))
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "replicas and scaling are mutually exclusive" in result.stdout


def test_autoscaled_environment_lints_clean_with_its_monitor(autoscale_dist: Path) -> None:
    result = run_infergate("lint", str(autoscale_dist), cwd=autoscale_dist.parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors, 0 warnings, 0 infos" in result.stdout, result.stdout


def test_without_the_monitor_both_models_lack_metrics(autoscale_dist: Path, tmp_path: Path) -> None:
    tree = tmp_path / "autoscale"
    shutil.copytree(autoscale_dist, tree)
    (tree / "vllm-monitoring" / "podmonitoring.yaml").unlink()
    result = run_infergate("lint", "--select", "SCL", str(tree), cwd=autoscale_dist.parent.parent)
    flagged = sorted(line.split("LLMInferenceService models-as/")[-1].rstrip(")")
                     for line in result.stdout.splitlines() if " SCL903 " in line)
    assert flagged == ["llama-8b", "qwen-7b"], result.stdout
