"""`validate --jobs`: the same report whatever the number of processes; chunks balanced by bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infergate.validate import parallel, validate_paths
from tests.conftest import REPO, run_infergate

FIXTURES = REPO / "tests" / "fixtures" / "validate"
needs_fork = pytest.mark.skipif(not parallel.FORK_IS_SAFE, reason="no safe fork here: validate stays serial")


@pytest.fixture(scope="module")
def mixed_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Valid and invalid files (every defect of the invalid corpus), unreadable ones, nested dirs."""
    root = tmp_path_factory.mktemp("mixed")
    for copy in range(3):
        shutil.copytree(FIXTURES / "invalid", root / f"invalid-{copy}")
        shutil.copytree(FIXTURES / "valid", root / f"valid-{copy}")
    (root / "broken.yaml").write_text("a: [1, 2\n")
    (root / "binary.yaml").write_bytes(b"\x00\x01\x02")
    return root


@needs_fork
@pytest.mark.parametrize("jobs", [2, 3])
def test_report_does_not_depend_on_jobs(mixed_corpus: Path, jobs: int) -> None:
    serial = validate_paths([mixed_corpus, mixed_corpus / "missing.yaml"], jobs=1)
    forked = validate_paths([mixed_corpus, mixed_corpus / "missing.yaml"], jobs=jobs)
    assert parallel.worker_count(parallel.file_sizes(sorted(mixed_corpus.rglob("*.yaml"))), jobs) == jobs
    assert serial[0], "the corpus must produce findings, or the comparison proves nothing"
    assert {f.code for f in serial[0]} >= {"V001", "V002", "V003", "V004", "V006", "E001"}
    assert [f.to_dict() for f in forked[0]] == [f.to_dict() for f in serial[0]]
    assert forked[1] == serial[1]


def test_cli_output_identical_with_and_without_workers(mixed_corpus: Path) -> None:
    outputs = []
    for jobs in ("1", "2"):
        result = run_infergate("validate", str(mixed_corpus), "--format", "json", "--jobs", jobs)
        assert result.returncode == 2  # unreadable inputs present
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]


def test_chunks_cover_every_file_once_and_balance_bytes(tmp_path: Path) -> None:
    files = []
    for i, size in enumerate([900, 500, 400, 300, 100, 100, 50]):
        path = tmp_path / f"f{i}.yaml"
        path.write_text("#" * size)
        files.append(path)
    chunks = parallel.plan_chunks(parallel.file_sizes(files), 3)
    assert sorted(p for chunk in chunks for p in chunk) == sorted(files)
    loads = [sum(p.stat().st_size for p in chunk) for chunk in chunks]
    assert max(loads) == 900, loads  # the biggest file alone is the floor, and it is reached
    # input order does not matter; never an empty chunk
    assert chunks == parallel.plan_chunks(parallel.file_sizes(list(reversed(files))), 3)
    assert parallel.plan_chunks(parallel.file_sizes(files[:2]), 8) == [[files[0]], [files[1]]]


@needs_fork
def test_automatic_jobs_only_for_big_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    for path in files:
        path.write_text("kind: x\n")
    small = parallel.file_sizes(files)
    monkeypatch.setattr(parallel, "available_cpus", lambda: 4)
    assert parallel.worker_count(small, 0) == 1
    assert parallel.worker_count(small, 3) == 2  # explicit: never more workers than files
    assert parallel.worker_count(parallel.file_sizes(files[:1]), 3) == 1
    monkeypatch.setattr(parallel, "AUTO_PARALLEL_BYTES", 10)
    assert parallel.worker_count(small, 0) == 2
