"""`infergate synth --jobs N`: independent environments in worker processes, byte-identical output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, assert_no_node_banner, run_infergate


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_parallel_synth_is_byte_identical_to_the_committed_serial_output(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    result = run_infergate("synth", "--jobs", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert_no_node_banner(result.stdout + result.stderr)
    envs = sorted(p.stem for p in (REPO / "environments").glob("*.yaml") if not p.name.startswith("_"))
    assert len(envs) >= 2, "needs two environments to run anything in parallel"
    assert _tree(out) == _tree(REPO / "dist")
    assert list(tmp_path.iterdir()) == [out]  # no staging or worker leftovers


def test_a_config_error_in_parallel_mode_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    envs = tmp_path / "environments"
    envs.mkdir()
    for name in ("a", "b"):
        (envs / f"{name}.yaml").write_text("namespace: [not, a, map]\nunknownKey: 1\n")
    out = tmp_path / "out"
    code = ("import sys; from pathlib import Path; from infergate.synth.run import synthesize; "
            "from infergate.core.errors import InfergateError\n"
            "try:\n    synthesize(None, out=Path(sys.argv[2]), env_dir=Path(sys.argv[1]), jobs=2)\n"
            "except InfergateError as exc:\n    print(exc.one_line()); sys.exit(2)\n")
    result = subprocess.run([sys.executable, "-c", code, str(envs), str(out)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "a.yaml" in result.stdout
    assert not out.exists()
