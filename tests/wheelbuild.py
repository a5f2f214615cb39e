"""Build the wheel of this repository as a release would, without writing into the repository tree.

setuptools builds in place (build/, infergate.egg-info/), so the build runs on a copy of exactly what
the build reads: pyproject.toml, the readme and every folder of [tool.setuptools].package-dir.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_REQUIREMENTS = ("setuptools",)  # [build-system].requires; --no-build-isolation uses this venv's


class MissingBuildDependency(RuntimeError):
    """The build backend is not installed in this environment (it is in requirements.lock)."""


def build_inputs(repo: Path = REPO) -> list[str]:
    """Top-level paths the build reads, relative to ``repo``."""
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    package_dirs = project["tool"]["setuptools"]["package-dir"].values()
    roots = sorted({Path(folder).parts[0] for folder in package_dirs})
    readme = project["project"].get("readme")
    return ["pyproject.toml", *([readme] if isinstance(readme, str) else []), *roots]


def build_wheel(out_dir: Path) -> Path:
    """Build the wheel into ``out_dir`` with `pip wheel --no-deps --no-build-isolation`; return its path."""
    missing = [name for name in BUILD_REQUIREMENTS if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingBuildDependency(f"cannot build the wheel: {', '.join(missing)} not installed in "
                                     f"{sys.prefix} (pip install -r requirements.lock)")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="infergate-wheel-src-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
        for name in build_inputs():
            path = REPO / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=ignore)
            else:
                shutil.copy2(path, source / name)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--disable-pip-version-check", "--wheel-dir", str(out_dir), str(source)],
            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    wheels = sorted(out_dir.glob("infergate-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one infergate wheel in {out_dir}, found {[w.name for w in wheels]}")
    return wheels[0]
