"""A new user's first hour, end to end: the built wheel installed into a fresh venv (no node_modules, no
system Node on PATH), `infergate init` in an empty directory, an environment edited to two models,
synth, check, a hand edit caught with its diff, the cdk8s CLI writing the same dist/, and the real
pre-commit client running the published hook on a commit. Nothing may be written outside the temp dir:
the tool's own tree is compared before and after."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from infergate import __version__
from infergate.crds.lockfile import cache_root
from tests.conftest import REPO, VENV_BIN, assert_no_node_banner
from tests.hookrepo import hook_repo
from tests.wheelbuild import MissingBuildDependency, build_wheel

pytestmark = pytest.mark.slow
GIT_ID = ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
SECOND_MODEL = """\
  - name: phi3-mini
    namespace: llm-d-caching
    uri: hf://microsoft/Phi-3-mini-4k-instruct
    servedName: microsoft/Phi-3-mini-4k-instruct
    replicas: 2
    image: registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5
    accelerator: tpu-v6e-slice
    topology: 2x2
    pathPrefix: /llm-d-caching/phi3-mini
    router: explicit
    vllm:
      tls: true
      requests: {cpu: "8", memory: 32Gi}
    secrets:
      hfToken: {name: hf-token, key: HF_TOKEN}
"""


@dataclass
class Sandbox:
    root: Path
    bindir: Path
    env: dict[str, str]

    def run(self, *args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def infergate(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bindir / "infergate"), *args, cwd=cwd)


def _tool_tree_state() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, check=True,
                          capture_output=True, text=True, timeout=60).stdout


NODE_PROGRAMS = {"node", "nodejs", "npm", "npx", "corepack"}


def _tools_without_node(target: Path) -> Path:
    """One bin folder with every program of this machine's PATH (git and the shell tools its scripts
    call) except Node and its package managers."""
    target.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        folder = Path(directory)
        if not folder.is_dir() or folder == VENV_BIN or "node_modules" in folder.parts:
            continue
        for program in folder.iterdir():
            link = target / program.name
            if program.name in NODE_PROGRAMS or link.exists() or link.is_symlink():
                continue
            if program.is_file() and os.access(program, os.X_OK):
                link.symlink_to(program)
    return target


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    before = _tool_tree_state()
    root = tmp_path_factory.mktemp("consumer")
    try:
        wheel = build_wheel(root / "wheel")
    except MissingBuildDependency as exc:
        pytest.skip(str(exc))
    venv = root / "venv"
    subprocess.run([str(VENV_BIN / "python"), "-m", "venv", str(venv)], check=True, timeout=300)
    bindir = venv / "bin"
    started = time.monotonic()
    install = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                              "-c", str(REPO / "requirements.lock"), str(wheel)],
                             capture_output=True, text=True, timeout=1200, check=False)
    print(f"\npip install of {wheel.name} into a fresh venv: {time.monotonic() - started:.1f} s")
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    cache = root / "cache"  # the user cache lives in the sandbox too; the verified CRDs are linked in
    (cache / "infergate").mkdir(parents=True)
    if (cache_root() / "files").is_dir():
        (cache / "infergate" / "files").symlink_to(cache_root() / "files", target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JSII_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=f"{bindir}{os.pathsep}{_tools_without_node(root / 'tools')}", HOME=str(root / "home"),
               XDG_CACHE_HOME=str(cache), PRE_COMMIT_HOME=str(cache / "pre-commit"),
               PIP_CONSTRAINT=str(REPO / "requirements.lock"), PIP_DISABLE_PIP_VERSION_CHECK="1")
    assert shutil.which("node", path=env["PATH"]) is None
    (root / "home").mkdir()
    yield Sandbox(root, bindir, env)
    assert _tool_tree_state() == before, "the consumer flow wrote into infergate's own tree"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_version_names_the_crd_set(sandbox: Sandbox) -> None:
    result = sandbox.infergate("--version", cwd=sandbox.root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"infergate {__version__}"
    assert any("LLMInferenceService" in line or "llminferenceservice" in line.lower() for line in lines)


def test_first_hour_of_a_new_user(sandbox: Sandbox) -> None:
    hooks_path, _ = hook_repo(REPO, tag=f"v{__version__}")
    work = sandbox.root / "work"
    work.mkdir()
    init = sandbox.infergate("init", "gitops", "--env", "prod", "--repo-url", "https://git.example/ops.git",
                             "--cluster-server", "https://10.0.0.1", "--hooks-repo", str(hooks_path),
                             cwd=work)
    assert init.returncode == 0, init.stderr
    project = work / "gitops"
    env_file = project / "environments" / "prod.yaml"
    env_file.write_text(env_file.read_text() + SECOND_MODEL)
    doc = yaml.safe_load(env_file.read_text())
    doc["gateway"]["tls"]["dnsNames"].append("*.llm-d-caching.svc.cluster.local")
    env_file.write_text(env_file.read_text().replace(
        '      - "*.llm-d-inference-scheduling.svc.cluster.local"\n',
        '      - "*.llm-d-inference-scheduling.svc.cluster.local"\n'
        '      - "*.llm-d-caching.svc.cluster.local"\n', 1))
    assert yaml.safe_load(env_file.read_text()) == doc and len(doc["models"]) == 2

    started = time.monotonic()
    synth = sandbox.infergate("synth", cwd=project / "environments")  # from a subdirectory
    print(f"first infergate synth in the new project: {time.monotonic() - started:.1f} s")
    assert synth.returncode == 0, synth.stderr
    assert_no_node_banner(synth.stdout + synth.stderr)
    assert sorted(p.name for p in (project / "dist" / "prod").iterdir() if p.name.startswith("model-")) == \
        ["model-phi3-mini", "model-qwen2-3b"]

    check = sandbox.infergate("check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "check passed" in check.stdout

    gateway = next((project / "dist" / "prod" / "gateway").glob("Gateway.*.yaml"))
    original = gateway.read_text()
    gateway.write_text(original.replace("port: 443", "port: 8443", 1))
    edited = sandbox.infergate("check", cwd=project)
    assert edited.returncode == 1, edited.stdout + edited.stderr
    rel = gateway.relative_to(project).as_posix()
    assert f"--- a/{rel}" in edited.stdout and "port: 8443" in edited.stdout
    assert f"{rel}: differs from a fresh synth" in edited.stdout and "STALE" in edited.stdout
    gateway.write_text(original)

    # the cdk8s CLI developers already use writes the same dist/ (it needs Node: the repo's dev tools)
    cdk8s = REPO / "node_modules" / ".bin" / "cdk8s"
    if cdk8s.exists() and shutil.which("node"):
        cli_env = {**sandbox.env, "PATH": f"{sandbox.bindir}{os.pathsep}{os.environ['PATH']}"}
        out = sandbox.root / "cdk8s-out"
        result = subprocess.run([str(cdk8s), "synth", "--no-check-upgrade", "--output", str(out)],
                                cwd=project, env=cli_env, capture_output=True, text=True, timeout=600,
                                check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert _tree(out) == _tree(project / "dist")

    # the real pre-commit client runs the published hook, pinned by init to this version, on a commit
    sandbox.run("git", "init", "-q", cwd=project)
    assert sandbox.run("git", *GIT_ID, "add", "-A", cwd=project).returncode == 0
    install = sandbox.run(str(VENV_BIN / "pre-commit"), "install", cwd=project)
    assert install.returncode == 0, install.stdout + install.stderr
    commit = sandbox.run("git", *GIT_ID, "commit", "-q", "-m", "first environment", cwd=project, timeout=1200)
    assert commit.returncode == 0, commit.stdout[-4000:] + commit.stderr[-4000:]
    assert "infergate check" in commit.stdout + commit.stderr and "Passed" in commit.stdout + commit.stderr
    # and a stale dist/ is refused at commit time
    gateway.write_text(original + "# hand edit\n")
    sandbox.run("git", *GIT_ID, "add", "-A", cwd=project)
    refused = sandbox.run("git", *GIT_ID, "commit", "-q", "-m", "hand edit", cwd=project, timeout=600)
    assert refused.returncode != 0 and "Failed" in refused.stdout + refused.stderr
