"""Extension points: extra/ folders (user manifests copied into dist/), user charts (module:function),
the Python API, and the open wave map; each lands in dist/ with its own Argo CD Application, and a
project using them stays fresh under `infergate check`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from infergate.synth.config import (
    GENERATED_FOLDERS,
    GENERATED_PREFIXES,
    OPERATOR_APPLICATIONS,
    load_environment,
)
from tests.conftest import (
    FIXTURE_ENVS,
    REPO,
    assert_no_node_banner,
    example_env_dirs,
    example_env_files,
    make_project,
    run_infergate,
)

ENV = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")
EXTENSIONS = """
extra:
  - folder: cluster-issuers
    wave: -2
    namespace: cert-manager
charts:
  - name: monitoring
    callable: platform_charts.monitoring:build
    wave: 5
    namespace: monitoring
"""
ISSUER = """\
# Let's Encrypt, answered through the gateway (a comment synth must keep)
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    privateKeySecretRef: {name: letsencrypt-account}
    solvers: [{http01: {gatewayHTTPRoute: {parentRefs: [{name: inference-gateway, namespace: opendatahub}]}}}]
"""
MODULE = """\
from cdk8s_plus_33 import k8s


def build(chart, env):
    for model in env.models:
        k8s.KubePodDisruptionBudget(
            chart, f"pdb-{model.name}",
            metadata=k8s.ObjectMeta(name=f"{model.name}-pdb", namespace=model.namespace),
            spec=k8s.PodDisruptionBudgetSpec(max_unavailable=k8s.IntOrString.from_number(MAX_UNAVAILABLE),
                                             selector=k8s.LabelSelector(match_labels=model.workload_labels)))


MAX_UNAVAILABLE = 1
"""
WAVE = "argocd.argoproj.io/sync-wave"


def extended_project(root: Path, extension: str = EXTENSIONS, module: str = MODULE) -> Path:
    """A project whose pattern1 environment declares an extra folder and a user chart."""
    project = make_project(root, {"pattern1": ENV + extension})
    issuers = project / "extra" / "cluster-issuers"
    issuers.mkdir(parents=True)
    (issuers / "letsencrypt.yaml").write_text(ISSUER, encoding="utf-8")
    (issuers / "README.md").write_text("not a manifest: not copied\n", encoding="utf-8")
    package = project / "platform_charts"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "monitoring.py").write_text(module, encoding="utf-8")
    return project


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = extended_project(tmp_path_factory.mktemp("ext") / "project")
    result = run_infergate("synth", cwd=project)
    assert result.returncode == 0, result.stderr
    assert_no_node_banner(result.stdout + result.stderr)
    return project


def test_extra_folder_and_user_chart_each_get_an_application_at_their_wave(synthesized: Path) -> None:
    env_dir = synthesized / "dist" / "pattern1"
    # extra/: a byte copy (comments and file name kept); other files are not copied
    assert sorted(p.name for p in (env_dir / "cluster-issuers").iterdir()) == ["letsencrypt.yaml"]
    assert (env_dir / "cluster-issuers" / "letsencrypt.yaml").read_bytes() == ISSUER.encode()
    # the user chart: what build(chart, env) added, one file per object as for infergate's charts
    assert sorted(p.name for p in (env_dir / "monitoring").iterdir()) == \
        ["PodDisruptionBudget.qwen2-3b-pattern1-pdb.yaml"]
    pdb = _load(env_dir / "monitoring" / "PodDisruptionBudget.qwen2-3b-pattern1-pdb.yaml")
    assert pdb["metadata"]["namespace"] == "llm-d-inference-scheduling"
    assert pdb["spec"]["maxUnavailable"] == 1
    for folder, wave, namespace in (("cluster-issuers", "-2", "cert-manager"),
                                    ("monitoring", "5", "monitoring")):
        app = _load(env_dir / "argocd" / f"Application.pattern1-{folder}.yaml")
        assert app["metadata"]["annotations"][WAVE] == wave
        assert app["spec"]["source"]["path"] == f"dist/pattern1/{folder}"
        assert app["spec"]["destination"]["namespace"] == namespace
        assert "ServerSideApply=true" in app["spec"]["syncPolicy"]["syncOptions"]
        assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    # the built-in folders keep their waves
    waves = {p.stem.removeprefix("Application.pattern1-"): int(_load(p)["metadata"]["annotations"][WAVE])
             for p in (env_dir / "argocd").glob("Application.*.yaml")}
    assert {k: waves[k] for k in ("namespaces", "cert-manager", "pki", "mesh", "gateway")} == \
        {"namespaces": -4, "cert-manager": -3, "pki": -2, "mesh": -1, "gateway": 0}
    # nothing the import left behind in the user's project
    assert not list(synthesized.rglob("__pycache__"))


def test_check_passes_with_extensions_and_follows_edits_of_module_and_extra(
        synthesized: Path, tmp_path: Path, cache_env: dict[str, str]) -> None:
    import shutil

    project = Path(shutil.copytree(synthesized, tmp_path / "project"))
    first = run_infergate("check", env=cache_env, cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "fresh: dist/ matches a fresh synth" in first.stdout and "check passed" in first.stdout
    second = run_infergate("check", env=cache_env, cwd=project)
    assert second.returncode == 0 and "synth skipped" in second.stdout, second.stdout  # not STALE forever
    # the user's module is an input: editing it invalidates the cache and shows the difference
    module = project / "platform_charts" / "monitoring.py"
    module.write_text(MODULE.replace("MAX_UNAVAILABLE = 1", "MAX_UNAVAILABLE = 2"), encoding="utf-8")
    stale = run_infergate("check", env=cache_env, cwd=project)
    assert stale.returncode == 1, stale.stdout
    assert "dist/pattern1/monitoring/PodDisruptionBudget.qwen2-3b-pattern1-pdb.yaml: differs" in stale.stdout
    # so is every file of extra/ (a clean check first, so an unhashed extra/ would hit the cache)
    assert run_infergate("synth", cwd=project).returncode == 0
    assert run_infergate("check", env=cache_env, cwd=project).returncode == 0
    issuer = project / "extra" / "cluster-issuers" / "letsencrypt.yaml"
    issuer.write_text(ISSUER.replace("letsencrypt-account", "acme-account"), encoding="utf-8")
    stale = run_infergate("check", env=cache_env, cwd=project)
    assert stale.returncode == 1 and "dist/pattern1/cluster-issuers/letsencrypt.yaml: differs" in stale.stdout


PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: llm-d-inference-scheduling
spec:
  hostNetwork: true
  containers:
    - name: shell
      image: registry.example.com/tools/shell:1.0
"""


def test_a_lint_finding_in_an_extra_manifest_names_its_dist_file(tmp_path: Path,
                                                                 cache_env: dict[str, str]) -> None:
    project = make_project(tmp_path / "project", {"pattern1": ENV + """
extra:
  - folder: debug-tools
    wave: 3
    namespace: llm-d-inference-scheduling
"""})
    (project / "extra" / "debug-tools").mkdir(parents=True)
    (project / "extra" / "debug-tools" / "pod.yaml").write_text(PRIVILEGED_POD, encoding="utf-8")
    assert run_infergate("synth", cwd=project).returncode == 0
    result = run_infergate("check", env=cache_env, cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fresh: dist/ matches a fresh synth" in result.stdout  # the copy is generated, not hand-added
    findings = [line for line in result.stdout.splitlines() if "SEC601" in line]
    assert findings and findings[0].startswith("dist/pattern1/debug-tools/pod.yaml:7:"), result.stdout


def _extra(folder: str = "issuers", wave: int = 1, source: str = "") -> str:
    src = f", source: {source}" if source else ""
    return f"extra:\n  - {{folder: {folder}{src}, wave: {wave}, namespace: a}}\n"


def _chart(target: str = "mymod:build", name: str = "mon") -> str:
    return f"charts:\n  - {{name: {name}, callable: {target}, wave: 1, namespace: a}}\n"


# (case, extension appended to the environment, files to write, expected message part, where)
# where: ("env", key) = the environment file at the line of that key, or (project file, line)
BAD = [
    ("extra folder missing", _extra(), {}, "extra folder 'issuers': source folder", ("env", "folder")),
    ("extra folder empty", _extra(), {"extra/issuers/notes.txt": "x\n"}, "no *.yaml or *.yml files",
     ("env", "folder")),
    ("extra invalid YAML", _extra(), {"extra/issuers/bad.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                      "metadata: {name: [x\n"},
     "invalid YAML", ("extra/issuers/bad.yaml", 4)),
    ("extra non-mapping document", _extra(), {"extra/issuers/list.yaml": "# a list\n- a\n- b\n"},
     "is a list, not a Kubernetes object", ("extra/issuers/list.yaml", 2)),
    ("extra without kind", _extra(), {"extra/issuers/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                                      "metadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n"},
     "document 2 has no kind", ("extra/issuers/cm.yaml", 5)),
    ("extra named like a patch", _extra(),
     {"extra/issuers/x.patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
     "may not be named *.patch.yaml", ("extra/issuers/x.patch.yaml", None)),
    ("extra source leaves extra/", _extra(source="up"), {"extra/up": "->.."},
     "leaves the project's extra folder", ("env", "source")),
    ("extra folder is a generated one", _extra("gateway"), {}, "'gateway' is a folder infergate generates",
     ("env", "folder")),
    ("extra folder named like a model's", _extra("model-x"), {}, "'model-x' is a folder infergate generates",
     ("env", "folder")),
    ("chart named like an operator", _chart(name="kserve"), {}, "Application infergate generates",
     ("env", "name")),
    ("extra and chart share a name", _extra("mon") + _chart(), {}, "'mon' is already used by extra[0]",
     ("env", "name")),
    ("wave before the AppProject", _extra(wave=-10), {}, "minimum of -9", ("env", "wave")),
    ("module not found", _chart("nowhere.charts:build"), {},
     "module 'nowhere.charts' not found in the project root", ("env", "callable")),
    ("attribute missing", _chart(), {"mymod.py": "def other(chart, env):\n    pass\n"},
     "has no attribute 'build'", ("env", "callable")),
    ("not callable", _chart(), {"mymod.py": "build = 3\n"}, "mymod:build is a int, not a function",
     ("env", "callable")),
    ("raises", _chart(), {"mymod.py": "def build(chart, env):\n"
                                      "    raise ValueError('no namespace\\nmore')\n"},
     "raised ValueError: no namespace", ("env", "callable")),
    ("syntax error at import", _chart(), {"mymod.py": "def build(chart, env)\n    pass\n"},
     "importing mymod raised SyntaxError", ("env", "callable")),
    ("adds nothing", _chart(), {"mymod.py": "def build(chart, env):\n    return None\n"},
     "added no Kubernetes object", ("env", "callable")),
    ("module shadowed by an installed one", _chart("yaml:build"),
     {"yaml.py": "def build(chart, env):\n    pass\n"}, "is taken by", ("env", "callable")),
]


@pytest.mark.parametrize(("extension", "files", "message", "where"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_extension_input_is_one_line_naming_file_and_line(tmp_path: Path, extension: str,
                                                              files: dict[str, str], message: str,
                                                              where: tuple[str, str | int | None]) -> None:
    project = make_project(tmp_path / "project", {"pattern1": ENV + "\n" + extension})
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text.startswith("->"):
            path.symlink_to(text[2:], target_is_directory=True)
        else:
            path.write_text(text, encoding="utf-8")
    result = run_infergate("synth", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("synth: ")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0] and "Traceback" not in result.stderr, errors[0]
    kind, detail = where
    if kind == "env":
        env_file = project / "environments" / "pattern1.yaml"
        lines = env_file.read_text(encoding="utf-8").splitlines()
        first = len(ENV.splitlines()) + 1  # the extension's lines
        line = next(i for i, text in enumerate(lines, 1) if i > first and f"{detail}:" in text)
        assert errors[0].startswith(f"error: {env_file}:{line}: "), errors[0]
    else:
        assert errors[0].startswith(f"error: {project / kind}{'' if detail is None else f':{detail}'}: "), \
            errors[0]
    assert not (project / "dist").exists()  # nothing written


def test_composing_through_the_api_writes_the_bytes_of_infergate_synth(synthesized: Path,
                                                                        tmp_path: Path) -> None:
    import infergate.api as ig

    project = ig.require_project(start=synthesized)
    out = tmp_path / "dist"
    envs = [ig.load_environment(path) for path in ig.environment_files(project.environments_dir)]
    for env in envs:
        app = ig.new_app(out / env.name)
        charts = ig.add_environment(app, env)
        assert {c.folder for c in charts} >= {"namespaces", "gateway"}
        app.synth()
    ig.synth_fleet(envs, out / "fleet")
    assert _tree(out) == _tree(synthesized / "dist")


def test_the_api_gives_a_chart_of_ones_own_an_application(synthesized: Path, tmp_path: Path) -> None:
    from cdk8s_plus_33 import k8s

    import infergate.api as ig

    env = ig.load_environment(synthesized / "environments" / "pattern1.yaml")
    app = ig.new_app(tmp_path / "pattern1")
    mine = ig.Chart(app, "quotas", wave=4, destination_namespace="llm-d-inference-scheduling")
    tpus = {"requests.google.com/tpu": k8s.Quantity.from_string("8")}
    k8s.KubeResourceQuota(mine, "quota", metadata=k8s.ObjectMeta(name="tpu"),
                          spec=k8s.ResourceQuotaSpec(hard=tpus))
    ig.add_environment(app, env, components=[ig.chart_component(mine)])
    app.synth()
    application = _load(tmp_path / "pattern1" / "argocd" / "Application.pattern1-quotas.yaml")
    assert application["metadata"]["annotations"][WAVE] == "4"
    assert application["spec"]["destination"]["namespace"] == "llm-d-inference-scheduling"
    assert (tmp_path / "pattern1" / "quotas" / "ResourceQuota.tpu.yaml").is_file()


def test_user_modules_never_leak_between_projects(tmp_path: Path) -> None:
    """Two projects with the same module name, synthesized in one process: each gets its own module, and
    neither sys.path nor sys.modules keeps anything of either."""
    from infergate.project.discovery import require_project
    from infergate.synth.run import synthesize

    path_before = list(sys.path)
    outputs = {}
    for unavailable in (1, 3):
        module = MODULE.replace("MAX_UNAVAILABLE = 1", f"MAX_UNAVAILABLE = {unavailable}")
        root = extended_project(tmp_path / f"p{unavailable}", module=module)
        synthesize(require_project(root), None, root / "dist")
        pdb = root / "dist" / "pattern1" / "monitoring" / "PodDisruptionBudget.qwen2-3b-pattern1-pdb.yaml"
        outputs[unavailable] = _load(pdb)["spec"]["maxUnavailable"]
    assert outputs == {1: 1, 3: 3}
    assert sys.path == path_before
    assert not [name for name in sys.modules if name.split(".")[0] == "platform_charts"]


def test_generated_folders_and_applications_are_the_reserved_names() -> None:
    """An extra folder or a user chart may not take a name infergate generates: the reserved list in
    config must cover every folder and Application the charts write (examples and goldens)."""
    golden = REPO / "tests" / "golden"
    env_dirs = {**example_env_dirs(), **{p.name: p for p in golden.iterdir()
                                         if (golden / "envs" / f"{p.name}.yaml").is_file()}}
    assert env_dirs
    env_files = {**example_env_files(), **{p.stem: p for p in (golden / "envs").glob("*.yaml")}}
    for env, env_dir in env_dirs.items():
        config = load_environment(env_files[env])
        declared = {e.folder for e in config.extra} | {c.name for c in config.charts}
        for folder in (p.name for p in env_dir.iterdir() if p.is_dir()):
            generated = folder in GENERATED_FOLDERS or folder.startswith(GENERATED_PREFIXES)
            assert folder in declared or generated, f"{env}/{folder}: add it to config.GENERATED_FOLDERS"
        for app in (env_dir / "argocd").glob("Application.*.yaml"):
            name = app.stem.removeprefix(f"Application.{env}-")
            assert (env_dir / name).is_dir() or name in OPERATOR_APPLICATIONS, \
                f"{env}: Application {name}: add it to config.OPERATOR_APPLICATIONS"
        assert (env_dir / "bootstrap" / f"Application.{env}-root.yaml").is_file()


def test_user_chart_and_extra_are_in_the_golden_environment() -> None:
    golden = REPO / "tests" / "golden"
    copy = golden / "variants" / "cluster-issuers" / "letsencrypt.yaml"
    source = golden / "extra" / "variants" / "cluster-issuers" / "letsencrypt.yaml"
    assert copy.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in (golden / "variants" / "monitoring").iterdir()) == [
        "PodDisruptionBudget.llama-v5e-pdb.yaml", "PodDisruptionBudget.mixtral-v5p-pdb.yaml",
        "PriorityClass.inference-serving.yaml"]
    # the cluster-scoped PriorityClass is admitted by the environment's AppProject
    project = _load(golden / "variants" / "argocd" / "AppProject.golden-project.yaml")
    admitted = {(k["group"], k["kind"]) for k in project["spec"]["clusterResourceWhitelist"]}
    assert ("scheduling.k8s.io", "PriorityClass") in admitted
    for folder, wave in (("cluster-issuers", "-2"), ("monitoring", "3")):
        app = _load(golden / "variants" / "argocd" / f"Application.variants-{folder}.yaml")
        assert app["metadata"]["annotations"][WAVE] == wave


def test_user_modules_are_imported_from_the_project_root_wherever_synth_runs(tmp_path: Path) -> None:
    project = extended_project(tmp_path / "project")
    result = run_infergate("synth", cwd=project / "environments")
    assert result.returncode == 0, result.stderr
    assert (project / "dist" / "pattern1" / "monitoring").is_dir()
