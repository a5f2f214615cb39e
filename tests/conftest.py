"""Shared test fixtures: repository paths, the offline mirror, CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# The example consumer projects (examples/<project>/{infergate.toml,environments,dist}). The suite must
# still collect without them (a copy of the repository that deletes examples/): tests that need them
# skip through `requires_examples`, and parametrized ones get an empty parameter set.
EXAMPLES = REPO / "examples"
requires_examples = pytest.mark.skipif(not (EXAMPLES / "pattern1" / "infergate.toml").is_file(),
                                       reason="examples/ is not in this copy of the repository")


# Environment files the tests own (copies of the examples' at the time they were taken), so tests of the
# config model, synth and check do not depend on examples/.
FIXTURE_ENVS = REPO / "tests" / "fixtures" / "environments"


def make_project(root: Path, envs: dict[str, str] | None = None, settings: str = "") -> Path:
    """A consumer project at ``root``: infergate.toml (+ ``settings``) and environments/ holding ``envs``
    (name -> YAML text; default: the fixture environments pattern1 and pattern3)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "infergate.toml").write_text(settings, encoding="utf-8")
    env_dir = root / "environments"
    env_dir.mkdir(exist_ok=True)
    if envs is None:
        envs = {p.stem: p.read_text(encoding="utf-8") for p in sorted(FIXTURE_ENVS.glob("*.yaml"))}
    for name, text in envs.items():
        (env_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def example_projects() -> list[Path]:
    if not EXAMPLES.is_dir():
        return []
    return sorted(p for p in EXAMPLES.iterdir() if (p / "infergate.toml").is_file())


def example_env_dirs() -> dict[str, Path]:
    """Environment name -> its committed output folder, over every example project."""
    return {env.name: env for project in example_projects() for env in sorted((project / "dist").iterdir())
            if env.is_dir() and env.name != "fleet"}


def example_env_files() -> dict[str, Path]:
    """Environment name -> its environment file, over every example project (bases left out)."""
    return {f.stem: f for project in example_projects()
            for f in sorted((project / "environments").glob("*.yaml")) if not f.stem.startswith("_")}


def example_dist_roots() -> list[Path]:
    return [project / "dist" for project in example_projects()]


def mirror_dir() -> Path:
    value = os.environ.get("INFERGATE_MIRROR")
    return Path(value) if value else (REPO.parent / "shared")


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_dir()
    if not (path / "crds").is_dir():
        pytest.fail(f"offline mirror not found at {path}: set INFERGATE_MIRROR")
    return path


@pytest.fixture()
def cache_env(tmp_path: Path) -> dict[str, str]:
    """A private check cache that still sees the verified CRD files validate needs."""
    from infergate.crds.lockfile import cache_root

    home = tmp_path / "cache"
    (home / "infergate").mkdir(parents=True)
    files = cache_root() / "files"
    if files.exists():
        (home / "infergate" / "files").symlink_to(files, target_is_directory=True)
    return {"XDG_CACHE_HOME": str(home)}


def run_infergate(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run([str(VENV_BIN / "infergate"), *args], capture_output=True, text=True,
                          env=merged, cwd=cwd or REPO, timeout=timeout, check=False)


EOL_BANNER_MARKERS = ("end-of-life", "!!!!!!!!", "is unsupported and has known compatibility issues")


def assert_no_node_banner(text: str) -> None:
    for marker in EOL_BANNER_MARKERS:
        assert marker not in text, f"Node banner leaked into output: {text[:500]}"


@pytest.fixture(scope="session")
def hermetic_apiserver(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A kube-apiserver + etcd on loopback with every pinned CRD installed, shared by the session
    (infergate.apiserver.testing); skipped only where Go is absent and no binaries are cached."""
    from infergate.apiserver.testing import hermetic_server, skip_reason

    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with hermetic_server(tmp_path_factory.mktemp("apiserver") / "state", crd_choice="all") as report:
        yield report
