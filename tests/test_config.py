"""Environment files: typed model, inheritance, and config errors through the CLI.

Every config error is one line on stderr naming file, line and key, exit 2, and the output untouched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infergate.core.errors import ConfigError
from infergate.synth.config import deep_merge, environment_for_dist, load_environment
from tests.conftest import FIXTURE_ENVS, make_project, run_infergate

PATTERN1 = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _synth_fails(tmp_path: Path, files: dict[str, str]) -> str:
    make_project(tmp_path, {Path(name).stem: text for name, text in files.items()})
    out = tmp_path / "dist"
    out.mkdir()
    (out / "keep.yaml").write_text("kept: true\n")
    result = run_infergate("synth", "--project", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.yaml"]  # nothing written
    return lines[0]


CASES = [
    # (name, old, new, needle of the offending line, key named in the message, message fragment)
    ("unknown key", "    replicas: 1\n", "    replicas: 1\n    replica: 2\n", "replica: 2",
     "models[0].replica", "unknown key 'replica'"),
    ("wrong type", "    replicas: 1\n", "    replicas: \"1\"\n", "replicas: \"1\"", "models[0].replicas",
     "expected integer"),
    ("unknown topology", "    topology: 2x2\n", "    topology: 3x3\n", "topology: 3x3", "models[0].topology",
     "unknown topology '3x3' for tpu-v6e-slice"),
    ("wrong accelerator label", "accelerator: tpu-v6e-slice", "accelerator: tpu-v6e", "accelerator: tpu-v6e",
     "models[0].accelerator", "unknown TPU accelerator"),
    # multi-host topologies are served (tests/test_multihost.py); their vLLM flags are generated too
    ("generated multi-host flag", "extraArgs: [\"--disable-log-requests\"]",
     "extraArgs: [\"--pipeline-parallel-size=4\"]", "--pipeline-parallel-size=4",
     "models[0].vllm.extraArgs[0]", "is generated (from the TPU table's host count)"),
    ("name too long", "  - name: qwen2-3b-pattern1\n", "  - name: " + "q" * 44 + "\n", "q" * 44,
     "models[0].name", "too long for an LLMInferenceService"),
    ("unknown top-level key", "kubernetesVersion: \"1.33\"\n", "kubernetesVersion: \"1.33\"\nclusters: {}\n",
     "clusters: {}", "clusters", "unknown key 'clusters'"),
    ("CIDR with host bits", "172.16.0.2/32", "172.16.0.2/24", "172.16.0.2/24", "platform.apiServerCIDRs[0]",
     "is not a network address"),
    ("generated vLLM flag", "extraArgs: [\"--disable-log-requests\"]",
     "extraArgs: [\"--tensor-parallel-size=8\"]", "--tensor-parallel-size=8", "models[0].vllm.extraArgs[0]",
     "is generated"),
]


@pytest.mark.parametrize(("old", "new", "needle", "key", "fragment"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_config_error_is_one_line_with_file_line_and_key(tmp_path: Path, old: str, new: str, needle: str,
                                                         key: str, fragment: str) -> None:
    assert old in PATTERN1
    text = PATTERN1.replace(old, new, 1)
    message = _synth_fails(tmp_path, {"bad.yaml": text})
    assert f"bad.yaml:{_line(text, needle)}: {key}: " in message, message
    assert fragment in message, message


def test_namespaced_issuer_cannot_sign_an_epp_in_another_namespace(tmp_path: Path) -> None:
    text = PATTERN1.replace("      createCAChain: true", "      createCAChain: false").replace(
        "      secureServing: false", "      secureServing: true")
    text += "pki:\n  issuer: {kind: Issuer, name: ns-ca}\n"
    message = _synth_fails(tmp_path, {"iss.yaml": text})
    line = _line(text, "namespace: llm-d-inference-scheduling")
    assert f"iss.yaml:{line}: models[0].namespace: " in message
    assert "need a ClusterIssuer" in message


def test_duplicate_model_name(tmp_path: Path) -> None:
    start = PATTERN1.index("  - name: qwen2-3b-pattern1")
    model = PATTERN1[start:]
    text = PATTERN1 + model.replace("pathPrefix: /llm-d-inference-scheduling/qwen2-3b-pattern1",
                                    "pathPrefix: /other")
    message = _synth_fails(tmp_path, {"dup.yaml": text})
    second = [i for i, line in enumerate(text.splitlines(), 1) if "- name: qwen2-3b-pattern1" in line][1]
    assert f"dup.yaml:{second}: models[1].name: duplicate model name 'qwen2-3b-pattern1'" in message


def test_error_in_a_base_names_the_base_file(tmp_path: Path) -> None:
    base = PATTERN1.replace("    podLabels: {k8s-app: kube-dns}\n", "    podLabels: {k8s-app: kube-dns}\n"
                            "    port: 53\n")
    child = "base: _common\ncluster: {name: other, server: https://other.example}\n"
    message = _synth_fails(tmp_path, {"_common.yaml": base, "child.yaml": child})
    assert f"_common.yaml:{_line(base, 'port: 53')}: platform.dns.port: unknown key 'port'" in message


def test_error_in_the_child_names_the_child_file(tmp_path: Path) -> None:
    child = "base: _common\n\nmesh:\n  version: 1.26\n"
    message = _synth_fails(tmp_path, {"_common.yaml": PATTERN1, "child.yaml": child})
    assert "child.yaml:4: mesh.version: " in message


def test_environment_names_are_dns_labels(tmp_path: Path) -> None:
    message = _synth_fails(tmp_path, {"Pattern_X.yaml": PATTERN1})
    assert "Pattern_X.yaml: environment name 'Pattern_X'" in message


def test_base_cycle_is_a_config_error(tmp_path: Path) -> None:
    message = _synth_fails(tmp_path, {"a.yaml": "base: b\n", "b.yaml": "base: a\n"})
    assert "inheritance cycle" in message


def test_inheritance_merges_maps_and_replaces_lists(tmp_path: Path) -> None:
    (tmp_path / "_base.yaml").write_text(PATTERN1, encoding="utf-8")
    child = tmp_path / "edge.yaml"
    child.write_text("base: _base\ncluster: {name: edge, server: https://edge.example}\n"
                     "platform:\n  apiServerCIDRs: [\"10.0.0.1/32\"]\n  dns: {namespace: dns-system}\n",
                     encoding="utf-8")
    env = load_environment(child)
    assert env.name == "edge" and env.file == str(child)
    assert env.files == (str(child), str(tmp_path / "_base.yaml"))
    assert env.cluster.server == "https://edge.example"
    assert env.platform.api_server_cidrs == ("10.0.0.1/32",)  # list replaced
    assert env.platform.dns_namespace == "dns-system"
    assert env.platform.dns_pod_labels == {"k8s-app": "kube-dns"}  # sibling key kept from the base
    assert [m.name for m in env.models] == ["qwen2-3b-pattern1"]


def test_deep_merge_semantics() -> None:
    assert deep_merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "e": 2}) == \
        {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}


def test_pattern1_model_and_platform_facts() -> None:
    env = load_environment(FIXTURE_ENVS / "pattern1.yaml")
    (model,) = env.models
    assert model.accelerator.chips_per_host == 4 and model.router == "explicit"
    assert model.path_prefix == "/llm-d-inference-scheduling/qwen2-3b-pattern1"
    facts = env.platform
    assert facts.kubernetes_version == "1.33" and facts.istio_version == "v1.26.6"
    assert facts.dns_namespace == "kube-system" and facts.dns_pod_labels == {"k8s-app": "kube-dns"}
    assert ("llm-d-inference-scheduling", "hf-token") in facts.provided_secrets
    assert ("llm-d-inference-scheduling", "11009103-jhull-svc-pull-secret") in facts.provided_secrets
    assert ("opendatahub", "redhat-pull-secret") in facts.provided_secrets
    assert facts.model_download_cidrs == ("0.0.0.0/0",)
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        facts.dns_namespace = "x"  # type: ignore[misc]


def test_managed_router_must_use_the_controllers_gateway(tmp_path: Path) -> None:
    text = PATTERN1.replace("    router: explicit\n", "    router: managed\n").replace(
        "    pathPrefix: /llm-d-inference-scheduling/qwen2-3b-pattern1\n", "").replace(
        "  name: inference-gateway\n", "  name: other-gateway\n").replace(
        "  apiServerPorts: [443]\n",
        "  apiServerPorts: [443]\n  kserveIngressGateway: opendatahub/inference-gateway\n")
    path = tmp_path / "m.yaml"
    without_epp = text.split("    epp:")[0] + "    secrets:" + text.split("    secrets:")[1]
    path.write_text(without_epp, encoding="utf-8")
    with pytest.raises(ConfigError, match="managed routing attaches to the controller's gateway"):
        load_environment(path)


def test_environment_for_dist_finds_the_environment_file(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", settings='dist = "rendered"\n')
    gateway = project / "rendered" / "pattern1" / "gateway" / "Gateway.inference-gateway.yaml"
    gateway.parent.mkdir(parents=True)
    gateway.write_text("kind: Gateway\n")
    (project / "rendered" / "pattern3").mkdir()
    (project / "rendered" / "fleet").mkdir()
    env = environment_for_dist(gateway)
    assert env is not None and env.name == "pattern1"
    assert environment_for_dist(project / "rendered" / "pattern3") is not None
    assert environment_for_dist(project / "rendered" / "fleet") is None
    assert environment_for_dist(project / "environments") is None
    # a dist/ folder that belongs to no project is just a folder
    (tmp_path / "dist" / "pattern1").mkdir(parents=True)
    assert environment_for_dist(tmp_path / "dist" / "pattern1") is None


def test_kustomize_and_gateway_api_defaults() -> None:
    """No kustomize pin (Argo CD >= v3.1 bundles a kustomize that builds the overlay) and no Gateway API
    CRDs Application (GKE provides them) unless the environment asks."""
    env = load_environment(FIXTURE_ENVS / "pattern1.yaml")
    assert env.operators.kserve.kustomize_version is None
    assert not env.gateway_api.install and env.gateway_api.version == "v1.2.1"
    assert env.extra == () and env.charts == ()


def test_extensions_are_typed_and_located(tmp_path: Path) -> None:
    extension = ("extra:\n  - {folder: issuers, source: prod/issuers, wave: -2, namespace: cert-manager}\n"
                 "charts:\n  - {name: mon, callable: charts_pkg.mon:build, wave: 5, namespace: monitoring}\n")
    text = PATTERN1.replace("platform:\n", "platform:\n  gatewayAPI: {install: true, version: v1.3.0}\n", 1)
    project = make_project(tmp_path / "project", {"prod": text + extension})
    env = load_environment(project / "environments" / "prod.yaml")
    assert env.gateway_api.install and env.gateway_api.version == "v1.3.0"
    (extra,) = env.extra
    assert (extra.folder, extra.wave, extra.namespace) == ("issuers", -2, "cert-manager")
    assert extra.source == project.resolve() / "extra" / "prod" / "issuers"
    assert extra.line == _line(text + extension, "source: prod/issuers")
    (chart,) = env.charts
    assert (chart.name, chart.callable) == ("mon", "charts_pkg.mon:build")
    assert chart.project_root == project.resolve()
    assert chart.file == str(project / "environments" / "prod.yaml")


def test_extensions_need_a_project(tmp_path: Path) -> None:
    env_file = tmp_path / "loose" / "prod.yaml"
    env_file.parent.mkdir()
    env_file.write_text(PATTERN1 + "extra:\n  - {folder: issuers, wave: 1, namespace: a}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs an infergate project"):
        load_environment(env_file)
