"""The lint world model (issue 14): in the tree / provided / unknown, scopes, and kubectl's namespaces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infergate.lint import lint_paths
from infergate.lint.config import LintConfig, load_config
from infergate.lint.platform import platform_from
from tests.conftest import EXAMPLES, requires_examples, run_infergate

ROUTE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs:
  - {name: platform-gw, namespace: gateway}
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: pool, port: 8000}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool, namespace: demo}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {kind: Service, name: epp, port: {number: 9002}}
"""

GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: gateway}
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes: {namespaces: {from: %s}}
"""


def _codes(findings: list) -> list[str]:
    return sorted(f.code for f in findings)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


# ---- open / closed world ----------------------------------------------------------------------------
def test_open_world_reports_each_unresolved_reference_once_as_info(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", {"route.yaml": ROUTE})
    findings, _ = lint_paths([tree], config=LintConfig())
    # GW204/GW205-style errors for objects a chart or the platform makes were false positives
    assert _codes(findings) == ["REF001", "REF001", "REF001"], [f.message for f in findings]
    gateway = next(f for f in findings if "Gateway gateway/platform-gw" in f.message)
    assert gateway.severity.value == "info" and gateway.line == 6
    assert "GW204" in gateway.message and "--provided Gateway/gateway/platform-gw" in gateway.message
    pods = next(f for f in findings if "pods matching {app=vllm}" in f.message)
    assert "INF301" in pods.message
    epp = next(f for f in findings if "Service demo/epp" in f.message)
    assert "INF302" in epp.message


def test_one_info_per_referenced_object_not_per_referrer(tmp_path: Path) -> None:
    second = ROUTE.split("---")[0].replace("name: model", "name: other")
    tree = _tree(tmp_path / "t", {"route.yaml": ROUTE, "other.yaml": second})
    findings, _ = lint_paths([tree], config=LintConfig())
    gateway = [f for f in findings if "Gateway gateway/platform-gw" in f.message]
    assert len(gateway) == 1 and "(and 1 more referrer)" in gateway[0].message


def test_closed_world_makes_unknown_references_the_rules_errors(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", {"route.yaml": ROUTE})
    result = run_infergate("lint", str(tree), "--closed-world")
    assert result.returncode == 1
    for code in ("GW204", "INF301", "INF302"):
        assert f" {code} [error]" in result.stdout, result.stdout
    assert "REF001" not in result.stdout
    assert run_infergate("lint", str(tree)).returncode == 0  # open world: infos only


def test_provided_objects_resolve_from_flags_and_config(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", {"route.yaml": ROUTE})
    result = run_infergate("lint", str(tree), "--closed-world", "--provided", "Gateway/gateway/platform-gw",
                           "--provided", "inferencepool/demo/pool", "--provided", "Service/*/epp",
                           "--provided", "Pod/demo/*")
    assert result.returncode == 0 and " [error]" not in result.stdout, result.stdout
    config = tmp_path / ".infergate.toml"
    config.write_text('[lint]\nclosed-world = true\n[lint.provided]\ngateways = ["gateway/platform-gw"]\n'
                      'services = ["demo/epp"]\nobjects = ["InferencePool/demo/pool", "Pod/demo/*"]\n')
    findings, _ = lint_paths([tree], config=load_config(config))
    assert findings == [], [f"{f.code} {f.message}" for f in findings]


@pytest.mark.parametrize("spec", ["Gateway", "a/b/c/d", "Namespace/x/y", "Secret//name"])
def test_bad_provided_spec_is_one_line_exit_2(tmp_path: Path, spec: str) -> None:
    result = run_infergate("lint", str(tmp_path), "--provided", spec)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--provided" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_world_settings_in_config_name_the_file(tmp_path: Path) -> None:
    for body in ('[lint.provided]\nsecrets = "demo/x"\n', '[lint]\nnamespace = "Not_A_Namespace"\n',
                 '[lint]\nclosed-world = "yes"\n', '[lint]\nscopes = "samples/*"\n',
                 '[lint.provided]\nobjects = ["nonsense"]\n'):
        config = tmp_path / "c.toml"
        config.write_text(body)
        result = run_infergate("lint", str(tmp_path), "--config", str(config))
        assert result.returncode == 2 and str(config) in result.stderr, body
        assert "Traceback" not in result.stderr


def test_platform_secret_facts_are_provided_secrets(tmp_path: Path) -> None:
    """INF309 and GW202 read the same world: a provided Secret is neither a warning nor an info."""
    tree = _tree(tmp_path / "t", {"gw.yaml": """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: gateway}
spec:
  gatewayClassName: istio
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {mode: Terminate, certificateRefs: [{name: tls}]}}
"""})
    closed = platform_from({"closed_world": True}, "test")
    findings, _ = lint_paths([tree], config=LintConfig(platform=closed), select=["GW202"])
    assert _codes(findings) == ["GW202"]
    provided = platform_from({"provided_secrets": ["gateway/tls"]}, "test", closed)
    assert lint_paths([tree], config=LintConfig(platform=provided), select=["GW202"])[0] == []


@requires_examples
def test_dist_env_of_a_project_is_a_closed_world(tmp_path: Path) -> None:
    project = tmp_path / "pattern1"
    shutil.copytree(EXAMPLES / "pattern1", project, ignore=shutil.ignore_patterns("node_modules", "imports"))
    dist = project / "dist" / "pattern1"
    assert run_infergate("lint", str(dist)).returncode == 0
    (dist / "stray-route.yaml").write_text(ROUTE.split("---")[0])
    result = run_infergate("lint", str(dist))
    assert result.returncode == 1 and " GW204 [error]" in result.stdout and "REF001" not in result.stdout
    result = run_infergate("lint", str(dist), "--open-world")
    assert " GW204 " not in result.stdout and " REF001 [info] Gateway gateway/platform-gw" in result.stdout


@requires_examples
def test_environment_platform_declares_provided_objects(tmp_path: Path) -> None:
    project = tmp_path / "pattern1"
    shutil.copytree(EXAMPLES / "pattern1", project, ignore=shutil.ignore_patterns("node_modules", "imports"))
    dist = project / "dist" / "pattern1"
    (dist / "stray-route.yaml").write_text(ROUTE.split("---")[0])
    env = project / "environments" / "pattern1.yaml"
    text = env.read_text()
    env.write_text(text.replace("platform:\n", "platform:\n  provided: [Gateway/gateway/platform-gw]\n", 1))
    result = run_infergate("lint", str(dist))
    # linted (closed world: the pool is still missing), and the declared platform Gateway resolves
    assert " GW205 [error]" in result.stdout and " GW204 " not in result.stdout, result.stderr
    env.write_text(text.replace("platform:\n", "platform:\n  provided: [Namespace/a/b]\n", 1))
    result = run_infergate("lint", str(dist))
    assert result.returncode == 2 and "platform.provided" in result.stderr
    assert "pattern1.yaml:" in result.stderr


def test_namespace_labels_outside_the_tree_are_not_guessed(tmp_path: Path) -> None:
    """A Selector listener and a route namespace that is not in the tree: its labels are unknown."""
    selector = "Selector, selector: {matchLabels: {gateway-access: 'true'}}"
    route = ROUTE.split("---")[0].replace("name: platform-gw", "name: gw")
    tree = _tree(tmp_path / "t", {"gw.yaml": GATEWAY % selector, "route.yaml": route})
    findings, _ = lint_paths([tree], config=LintConfig(), select=["GW204"])
    assert _codes(findings) == ["REF001"] and "Namespace demo" in findings[0].message
    closed = LintConfig(platform=platform_from({"closed_world": True}, "test"))
    assert _codes(lint_paths([tree], config=closed, select=["GW204"])[0]) == ["GW204"]


# ---- scopes --------------------------------------------------------------------------------------------
SAMPLE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: preset, namespace: kserve}
data: {variant: "%s"}
"""


def _samples(root: Path) -> Path:
    return _tree(root, {"samples/a/preset.yaml": SAMPLE % "a", "samples/b/preset.yaml": SAMPLE % "b"})


def test_alternative_samples_are_duplicates_in_one_cluster_but_not_per_directory(tmp_path: Path) -> None:
    tree = _samples(tmp_path / "repo")
    assert _codes(lint_paths([tree], config=LintConfig(), select=["CD"])[0]) == ["CD503"]
    findings, summary = lint_paths([tree], config=LintConfig(), select=["CD"], scope="dir")
    assert findings == [] and summary["scopes"] == 2
    config = tmp_path / "repo" / ".infergate.toml"
    config.write_text('[lint]\nscopes = ["samples/*"]\n')
    findings, summary = lint_paths([tree], config=load_config(config), select=["CD"])
    assert findings == [] and summary["scopes"] == 2


def test_a_glob_scope_holds_its_whole_directory_tree(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "repo", {"samples/a/x/preset.yaml": SAMPLE % "a1",
                                     "samples/a/y/preset.yaml": SAMPLE % "a2"})
    config = tree / ".infergate.toml"
    config.write_text('[lint]\nscopes = ["samples/*"]\n')
    findings, _ = lint_paths([tree], config=load_config(config), select=["CD"])
    assert _codes(findings) == ["CD503"]  # one sample, defined twice: still a duplicate


def test_kserve_presets_lint_clean_per_directory(mirror: Path) -> None:
    kserve = mirror / "kserve"
    if not kserve.is_dir():
        pytest.skip("no KServe presets in the mirror")
    assert " CD503 " in run_infergate("lint", str(kserve)).stdout  # two releases of the same presets
    result = run_infergate("lint", "--scope", "dir", str(kserve))
    assert result.returncode == 0 and " CD503 " not in result.stdout, result.stdout


def test_duplicated_names_are_never_resolved_to_an_arbitrary_copy(tmp_path: Path) -> None:
    """Two copies of a Gateway in one scope: GW204 used to read the first (which does not admit the
    route) and blame the route; now the route's reference is ambiguous and nothing picks a copy."""
    route = ROUTE.split("---")[0].replace("name: platform-gw", "name: gw")
    tree = _tree(tmp_path / "t", {"a.yaml": GATEWAY % "Same", "b.yaml": GATEWAY % "All", "route.yaml": route})
    closed = LintConfig(platform=platform_from({"closed_world": True}, "test"))
    findings, _ = lint_paths([tree], config=closed, select=["GW204", "CD503"])
    assert _codes(findings) == ["CD503", "REF002"], [f.message for f in findings]
    ambiguous = next(f for f in findings if f.code == "REF002")
    assert "defined 2 copies" in ambiguous.message and "GW204" in ambiguous.message


def test_jobs_do_not_change_the_report(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "repo", {f"s{i}/route.yaml": ROUTE for i in range(4)})
    one = run_infergate("lint", "--scope", "dir", "--format", "json", str(tree))
    two = run_infergate("lint", "--scope", "dir", "--format", "json", "--jobs", "2", str(tree))
    assert one.returncode == two.returncode == 0 and one.stdout == two.stdout
    assert one.stdout.count('"REF001"') == 12


# ---- namespaces ----------------------------------------------------------------------------------------
MIXED = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: model, namespace: demo}
spec:
  parentRefs: [{name: gw, namespace: gateway}]
  rules:
  - backendRefs: [{kind: Service, name: vllm, port: 8000}]
---
apiVersion: v1
kind: Service
metadata: {name: vllm}
spec:
  selector: {app: vllm}
  ports: [{port: 8000}]
"""


def test_namespace_follows_kubectl_and_mixed_files_are_flagged(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", {"gw.yaml": GATEWAY % "All", "app.yaml": MIXED})
    closed = platform_from({"closed_world": True}, "test")
    findings, _ = lint_paths([tree], config=LintConfig(platform=closed), select=["GW205"])
    # the Service took `default`, the route looks in demo: the miss, and why
    assert _codes(findings) == ["GW205", "REF003"], [f.message for f in findings]
    mixed = next(f for f in findings if f.code == "REF003")
    assert "Service vllm is in default but looked up in demo" in mixed.message
    assert mixed.severity.value == "warning"
    # `kubectl apply -n demo`: the Service lands in demo and the route resolves, but the file still mixes
    in_demo = platform_from({"namespace": "demo"}, "test", closed)
    findings, _ = lint_paths([tree], config=LintConfig(platform=in_demo), select=["GW205"])
    assert _codes(findings) == ["REF003"] and "default namespace is 'demo'" in findings[0].message


def test_namespace_flag_places_objects_without_one(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "t", {"a.yaml": SAMPLE.replace("namespace: kserve", "") % "a",
                                  "b.yaml": SAMPLE.replace("namespace: kserve", "namespace: demo") % "b"})
    assert run_infergate("lint", str(tree), "--select", "CD").returncode == 0
    result = run_infergate("lint", str(tree), "--select", "CD", "-n", "demo")
    assert result.returncode == 1 and "ConfigMap demo/preset is already defined" in result.stdout
    bad = run_infergate("lint", str(tree), "-n", "Bad_NS")
    assert bad.returncode == 2 and "--namespace" in bad.stderr


def test_crd_groups_the_platform_installs_need_no_wave(tmp_path: Path) -> None:
    from infergate.policies import example_files, rule_by_code

    rule = rule_by_code("CD502")
    assert rule is not None
    for name, text in example_files(rule.bad[0]):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    closed = platform_from({"closed_world": True}, "test")
    assert _codes(lint_paths([tmp_path / "dist"], config=LintConfig(platform=closed), select=["CD502"])[0]) \
        == ["CD502"]
    provided = platform_from({"provided": ["crd/cert-manager.io"]}, "test", closed)
    assert lint_paths([tmp_path / "dist"], config=LintConfig(platform=provided), select=["CD502"])[0] == []


def test_epp_rbac_bound_to_a_role_outside_the_tree_is_not_guessed(tmp_path: Path) -> None:
    """INF304: a RoleBinding to a ClusterRole a chart installs grants what that role grants, unknown here."""
    from infergate.policies._examples import CONTEXTS

    stack = CONTEXTS["stack"].replace(
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: epp}",
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: chart-epp-reader}",
    )
    assert "chart-epp-reader" in stack
    tree = _tree(tmp_path / "t", {"stack.yaml": stack})
    findings, _ = lint_paths([tree], config=LintConfig(), select=["INF304"])
    assert _codes(findings) == ["REF001"] and "ClusterRole chart-epp-reader" in findings[0].message
    closed = LintConfig(platform=platform_from({"closed_world": True}, "test"))
    assert _codes(lint_paths([tree], config=closed, select=["INF304"])[0]) == ["INF304"]


def test_the_gateway_kserves_config_names_is_provided(tmp_path: Path) -> None:
    """router.gateway: {} attaches to the gateway KServe's own config names: it exists where KServe runs."""
    tree = _tree(tmp_path / "t", {"svc.yaml": """\
apiVersion: serving.kserve.io/v1alpha1
kind: LLMInferenceService
metadata: {name: qwen, namespace: demo}
spec:
  model: {uri: "hf://Qwen/Qwen2.5-3B-Instruct", name: Qwen/Qwen2.5-3B-Instruct}
  router: {route: {}, gateway: {}}
"""})
    findings, _ = lint_paths([tree], config=LintConfig(), select=["GW", "INF307"])
    assert not [f for f in findings if "Gateway opendatahub/inference-gateway" in f.message], findings
    closed = LintConfig(platform=platform_from({"closed_world": True}, "test"))
    assert not [f for f in lint_paths([tree], config=closed, select=["GW204"])[0]]


def test_jobs_parse_one_big_scope_in_parallel_with_the_same_report(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """One scope: --jobs splits its files between processes for parsing; the findings and summary are the
    serial ones (the threshold is lowered so a small tree takes the parallel path)."""
    from infergate.lint import engine

    monkeypatch.setattr(engine, "PARALLEL_LOAD_MIN_FILES", 1)
    calls: list[int] = []
    real = engine._load_parallel
    monkeypatch.setattr(engine, "_load_parallel", lambda files, workers: calls.append(workers) or real(
        files, workers))
    tree = _tree(tmp_path / "repo", {f"r{i}.yaml": ROUTE.replace("name: model", f"name: model-{i}")
                                     for i in range(6)} | {"broken.yaml": "a: [\n"})
    serial = lint_paths([tree], jobs=1)
    parallel = lint_paths([tree], jobs=2)
    assert calls == [2] and serial == parallel
    assert any(f.code == "E001" for f in serial[0])  # load problems travel back from the workers too


def test_a_duplicated_issuer_is_not_read_from_an_arbitrary_copy() -> None:
    """Two ClusterIssuers of one name in a scope (one ACME, one CA): whether a Certificate is ACME-signed is
    not decided from either copy."""
    from infergate.policies._pki import acme_issuer

    from infergate.core.graph import Graph
    from infergate.core.loader import load_text

    text = """\
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: le}
spec: {acme: {server: https://acme.example/dir, privateKeySecretRef: {name: k}, solvers: []}}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: le}
spec: {ca: {secretName: ca}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: c, namespace: n}
spec: {secretName: s, dnsNames: [a.example.com], issuerRef: {kind: ClusterIssuer, name: le}}
"""
    graph = Graph(list(load_text(text, "t.yaml")), None)
    cert = graph.of_kind("Certificate")[0]
    assert acme_issuer(graph, cert) is None
    single = Graph(list(load_text(text.split("---\n", 1)[1].replace("ca: {secretName: ca}", "acme: {}"),
                                  "t.yaml")), None)
    assert acme_issuer(single, single.of_kind("Certificate")[0]) == "le"
