"""`infergate synth --jobs N`: independent environments in worker processes, byte-identical output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import assert_no_node_banner, make_project, run_infergate


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_parallel_synth_is_byte_identical_to_a_serial_synth(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")  # two environments: pattern1 and pattern3
    serial = tmp_path / "serial"
    assert run_infergate("synth", "--project", str(project), "--out", str(serial)).returncode == 0
    out = project / "dist"
    result = run_infergate("synth", "--jobs", "2", "--project", str(project))
    assert result.returncode == 0, result.stderr
    assert_no_node_banner(result.stdout + result.stderr)
    assert _tree(out) == _tree(serial)
    assert sorted(p.name for p in project.iterdir()) == ["dist", "environments", "infergate.toml"]


def test_a_config_error_in_parallel_mode_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    envs = make_project(tmp_path, {name: "namespace: [not, a, map]\nunknownKey: 1\n" for name in ("a", "b")})
    out = tmp_path / "out"
    code = ("import sys; from pathlib import Path; from infergate.synth.run import synthesize; "
            "from infergate.project.discovery import require_project; "
            "from infergate.core.errors import InfergateError\n"
            "try:\n    synthesize(require_project(Path(sys.argv[1])), out=Path(sys.argv[2]), jobs=2)\n"
            "except InfergateError as exc:\n    print(exc.one_line()); sys.exit(2)\n")
    result = subprocess.run([sys.executable, "-c", code, str(envs), str(out)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "a.yaml" in result.stdout
    assert not out.exists()
