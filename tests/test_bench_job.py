"""`infergate bench URL --emit-job`: the manifests validate and lint clean, the Job is hardened, the ConfigMap
holds infergate's bench modules byte for byte, and those modules alone (plus httpx) run the bench: the
Job's own command, replayed here against the OpenAI stub, with nothing of the installed infergate."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

from infergate.serving import benchjob
from tests.conftest import REPO, run_infergate
from tests.openai_stub import OpenAIStub, StubConfig

URL = "https://inference-gateway-istio.opendatahub.svc.cluster.local/llm-d-inference-scheduling/qwen"


def emit(tmp_path: Path, *args: str) -> tuple[dict, dict]:
    out = tmp_path / "bench.yaml"
    done = run_infergate("bench", URL, "--emit-job", "--out", str(out), *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}: kubectl apply -f {out}")
    config_map, job = yaml.safe_load_all(out.read_text(encoding="utf-8"))
    return config_map, job


def test_emitted_manifests_validate_and_lint_clean(tmp_path: Path) -> None:
    emit(tmp_path, "--model", "m", "--ca-secret", "gateway-ca", "--namespace", "bench")
    path = str(tmp_path / "bench.yaml")
    validated = run_infergate("validate", path, "--summary")
    assert validated.returncode == 0, validated.stdout
    assert "2 objects: 0 errors, 0 warnings" in validated.stdout
    linted = run_infergate("lint", path, "--format", "json")
    assert json.loads(linted.stdout)["findings"] == []


def test_job_runs_the_bench_modules_byte_for_byte(tmp_path: Path) -> None:
    config_map, job = emit(tmp_path, "--model", "m", "--ca-secret", "gateway-ca", "--concurrency", "1,2",
                           "--requests", "4", "--stream")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"] == {"drop": ["ALL"]}
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] > 0
    assert "@sha256:" in container["image"]
    (code,) = [v for v in pod["volumes"] if v["name"] == "code"]
    for item in code["configMap"]["items"]:
        shipped = config_map["data"][item["key"]].encode("utf-8")
        assert shipped == (REPO / "infergate" / item["path"]).read_bytes(), item["path"]
    env = {e["name"]: e["value"] for e in container["env"]}
    options = json.loads(env["BENCH_OPTIONS"])
    assert env["BENCH_URL"] == URL
    assert (options["concurrency"], options["requests"], options["stream"]) == ("1,2", "4", True)
    assert options["ca_file"] == "/etc/infergate/ca/ca.crt"
    (ca,) = [v for v in pod["volumes"] if v["name"] == "ca"]
    assert ca["secret"] == {"secretName": "gateway-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    script = container["command"][2]
    for pin in benchjob.pins():
        assert pin in script
    assert "--no-deps" in script and "&id" not in (tmp_path / "bench.yaml").read_text()


def test_the_shipped_modules_alone_run_the_bench(tmp_path: Path) -> None:
    """The Job's command after pip: its ConfigMap laid out as the volume does, python -S (no site, so not the
    installed infergate), httpx from this interpreter's site-packages in place of the pip --target folder."""
    with OpenAIStub(StubConfig(latency=0.01)) as stub:
        out = tmp_path / "bench.yaml"
        done = run_infergate("bench", stub.url, "--emit-job", "--out", str(out), "--concurrency", "2",
                             "--requests", "6")
        assert done.returncode == 0, done.stderr
        config_map, job = yaml.safe_load_all(out.read_text(encoding="utf-8"))
        root = tmp_path / "code"
        for item in job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]:
            target = root / "infergate" / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(config_map["data"][item["key"]], encoding="utf-8")
        env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        env["PYTHONPATH"] = f"{root}:{sysconfig.get_paths()['purelib']}"
        ran = subprocess.run([sys.executable, "-S", "-c", env["BENCH_RUN"]], env=env, capture_output=True,
                             text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "stub-model" in ran.stdout or "req/s" in ran.stdout
    assert stub.stats.requests.get("/v1/completions") == 6


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cases = [
        (["--json", str(tmp_path / "a.json")], "--json names a file on this machine"),
        (["--ca-file", str(tmp_path / "ca.pem")], "give --ca-secret"),
        (["--concurrency", "0", "--requests", "1"], "--concurrency: '0' is not a positive integer"),
        (["--out", str(tmp_path / "missing" / "x.yaml")], "--out: folder"),
    ]
    for args, message in cases:
        done = run_infergate("bench", URL, "--emit-job", *args)
        assert done.returncode == 2, args
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    done = run_infergate("bench", "http://h", "--emit-job", "--ca-secret", "s")
    assert done.returncode == 2 and "not an https:// URL" in done.stderr
    done = run_infergate("bench", URL, "--image", "python:3.12")
    assert done.returncode == 2 and "--image goes with --emit-job" in done.stderr
