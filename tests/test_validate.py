"""`infergate validate`: the invalid corpus is reported at the right object, path and line; valid input is
clean; formats, exit codes, hostile input, the schema cache."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema

from infergate.crds import lockfile as crds
from infergate.validate import validate_paths
from tests.conftest import REPO, example_dist_roots, make_project, requires_examples, run_infergate

FIXTURES = REPO / "tests" / "fixtures" / "validate"
INVALID = FIXTURES / "invalid"

# file, code, kind, name, path, line: one row per expected finding, nothing else may be reported
EXPECTED = [
    ("cel-gateway.yaml", "V002", "Gateway", "gw", "spec.listeners", 6),  # duplicate listener names
    ("cel-gateway.yaml", "V002", "Gateway", "gw", "spec.listeners", 6),  # tls on an HTTP listener
    ("cel-gateway.yaml", "V001", "Gateway", "gw", "spec.listeners[1]", 11),  # listener-map key "name" again
    ("cel-httproute.yaml", "V002", "HTTPRoute", "r", "spec.parentRefs", 5),
    ("cel-httproute.yaml", "V002", "HTTPRoute", "r", "spec.rules[0].matches[0].path", 10),
    ("cel-httproute.yaml", "V002", "HTTPRoute", "r", "spec.rules[0].matches[0].path", 10),
    ("cel-httproute.yaml", "V002", "HTTPRoute", "r", "spec.rules[0].timeouts", 11),
    ("cel-httproute.yaml", "V002", "HTTPRoute", "r", "spec.rules[0].backendRefs[0]", 13),
    ("cel-inferencepool-v1.yaml", "V002", "InferencePool", "pool", "spec.endpointPickerRef", 7),
    ("cel-llmisvc.yaml", "V002", "LLMInferenceService", "qwen",
     "spec.router.route.http.spec.rules[0].matches[0].path", 12),
    ("cel-llmisvc.yaml", "V002", "LLMInferenceService", "qwen",
     "spec.router.route.http.spec.rules[0].timeouts", 13),
    ("duplicate-key.yaml", "V006", "Service", "svc", "metadata.labels.app", 14),
    ("duplicate-list-map-key.yaml", "V001", "LLMInferenceService", "dup",
     "spec.template.containers[0].env[1]", 12),
    ("enum-cr.yaml", "V001", "InferencePool", "pool", "spec.extensionRef.failureMode", 11),
    ("enum-cr.yaml", "V001", "Istio", "default", "spec.version", 18),
    ("not-kubernetes.yaml", "V003", "Widget", "w", None, 1),
    ("not-kubernetes.yaml", "V004", None, None, None, 5),
    ("port-out-of-range.yaml", "V001", "InferencePool", "pool", "spec.targetPortNumber", 8),
    ("unknown-field-cr.yaml", "V001", "LLMInferenceService", "qwen",
     "spec.router.scheduler.scorerWeights", 12),
    ("unknown-metadata-field.yaml", "V001", "InferenceModel", "m", "metadata.labelz", 6),
    ("wrong-type.yaml", "V001", "Deployment", "d", "spec.replicas", 5),
]


def test_invalid_corpus_reported_at_object_path_and_line() -> None:
    findings, summary = validate_paths([INVALID])
    got = sorted((Path(f.file).name, f.code, f.kind, f.name, f.path, f.line) for f in findings)
    assert got == sorted(EXPECTED)
    assert summary["input_errors"] == 0
    messages = {f.path: f.message for f in findings if f.code == "V001"}
    assert messages["spec.router.scheduler.scorerWeights"] == 'unknown field "scorerWeights"'
    assert "65535" in messages["spec.targetPortNumber"]
    assert "FailOpen" in messages["spec.extensionRef.failureMode"]


def test_cel_messages_are_the_crds() -> None:
    findings, _ = validate_paths([INVALID / "cel-httproute.yaml", INVALID / "cel-gateway.yaml"])
    messages = sorted(f.message for f in findings)
    assert "Listener name must be unique within the Gateway" in messages
    assert "backendRequest timeout cannot be longer than request timeout" in messages
    assert "Must have port for Service reference" in messages  # needs the schema default group: ""


def test_valid_corpus_has_no_findings() -> None:
    findings, summary = validate_paths([FIXTURES / "valid"])
    assert findings == []
    assert summary["objects"] == 11  # List items, JSON and multi-document files all counted
    assert summary["cel_rules_evaluated"] > 0


@requires_examples
def test_dist_validates_clean() -> None:
    findings, summary = validate_paths(example_dist_roots())
    assert [f"{f.file}:{f.line} {f.code} {f.message} {f.path}" for f in findings] == []
    assert summary["objects"] > 0


def test_no_cel_skips_rules_and_ignore_missing_skips_unknown_kinds() -> None:
    findings, summary = validate_paths([INVALID / "cel-httproute.yaml", INVALID / "not-kubernetes.yaml"],
                                       cel=False, ignore_missing=True)
    assert [f.code for f in findings] == ["V004"]
    findings, _ = validate_paths([INVALID / "duplicate-list-map-key.yaml"], cel=False)
    assert [f.path for f in findings] == ["spec.template.containers[0].env[1]"]  # structural, not CEL
    assert summary["cel_rules_evaluated"] == 0 and summary["skipped_missing_schemas"] == 1


def test_no_strict_accepts_unknown_fields() -> None:
    findings, _ = validate_paths([INVALID / "unknown-field-cr.yaml"], strict=False)
    assert findings == []


def test_cli_json_contract_and_exit_code() -> None:
    result = run_infergate("validate", "--format", "json", str(INVALID / "wrong-type.yaml"))
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    (finding,) = data["findings"]
    assert {k: finding[k] for k in ("code", "slug", "severity", "line", "apiVersion", "kind", "namespace",
                                     "name", "path")} == {
        "code": "V001", "slug": "schema-violation", "severity": "error", "line": 5, "apiVersion": "apps/v1",
        "kind": "Deployment", "namespace": "ns", "name": "d", "path": "spec.replicas"}
    assert data["summary"]["error"] == 1 and data["summary"]["objects"] == 1


def test_cli_clean_exit_zero_with_summary() -> None:
    result = run_infergate("validate", "--summary", str(FIXTURES / "valid"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "5 files, 11 objects: 0 errors, 0 warnings, 0 infos"


def test_cli_sarif_is_valid_sarif_and_junit_is_xml(mirror: Path) -> None:
    import xml.etree.ElementTree as ET

    result = run_infergate("validate", "--format", "sarif", str(INVALID))
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    schema = json.loads(crds.verified_path(crds.entry_named("sarif-2.1.0")).read_text(encoding="utf-8"))
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(EXPECTED)
    assert {r["ruleId"] for r in results} == {"V001", "V002", "V003", "V004", "V006"}
    junit = run_infergate("validate", "--format", "junit", str(INVALID / "enum-cr.yaml"))
    suite = ET.fromstring(junit.stdout).find("testsuite")
    assert suite is not None and suite.get("failures") == "2"


def test_hostile_inputs_fail_clearly_and_the_rest_is_validated(tmp_path: Path) -> None:
    (tmp_path / "alias-bomb.yaml").write_text(
        'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        + "".join(f'{c}: &{c} [{",".join(["*" + p] * 10)}]\n'
                  for p, c in zip("abcdefgh", "bcdefghi", strict=True)))
    with (tmp_path / "huge.yaml").open("wb") as fh:  # 50 MB, sparse: cheap to create
        fh.truncate(50 * 1024 * 1024)
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "deep-block.yaml").write_text("".join(" " * i + "- \n" for i in range(0, 6000, 2)))
    (tmp_path / "garbage.yaml").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "latin1.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n")
    (tmp_path / "ok.yaml").write_text((INVALID / "wrong-type.yaml").read_text())
    start = time.perf_counter()
    result = run_infergate("validate", "--format", "json", str(tmp_path))
    elapsed = time.perf_counter() - start
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)["findings"]
    by_file = {Path(f["file"]).name: f for f in findings}
    assert "YAML alias bomb" in by_file["alias-bomb.yaml"]["message"]
    assert "over the 16777216-byte limit" in by_file["huge.yaml"]["message"]
    assert "nest" in by_file["deep.yaml"]["message"]
    assert "nest" in by_file["deep-block.yaml"]["message"]
    assert "binary" in by_file["garbage.yaml"]["message"]
    latin1 = by_file["latin1.yaml"]
    assert latin1["message"].startswith("invalid UTF-8") and latin1["line"] == 3
    assert by_file["ok.yaml"]["code"] == "V001" and by_file["ok.yaml"]["path"] == "spec.replicas"
    assert all(f["code"] == "E001" for name, f in by_file.items() if name != "ok.yaml")
    assert elapsed < 20, f"hostile inputs took {elapsed:.1f}s"


def test_missing_path_is_an_input_error() -> None:
    result = run_infergate("validate", str(REPO / "no-such-dir"), str(INVALID / "wrong-type.yaml"))
    assert result.returncode == 2
    assert "no such file or directory" in result.stdout and "spec.replicas" in result.stdout


def test_unknown_kubernetes_version_is_a_usage_error() -> None:
    result = run_infergate("validate", "--kubernetes-version", "1.99", str(INVALID / "wrong-type.yaml"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: Kubernetes 1.99 is not supported")
    assert "Traceback" not in result.stderr


FLOWCONTROL_V1BETA3 = """apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: PriorityLevelConfiguration
metadata:
  name: batch
spec:
  type: Exempt
"""  # served up to Kubernetes 1.31: a schema exists for 1.30, none for 1.33


def test_kubernetes_version_comes_from_the_environment_of_dist(tmp_path: Path) -> None:
    make_project(tmp_path, {})
    envs = tmp_path / "environments"
    (envs / "old.yaml").write_text('kubernetesVersion: "1.30"\n')
    (envs / "child.yaml").write_text("base: old\n")  # inherits 1.30
    for env in ("old", "child", "unknown"):  # "unknown" has no environment file: the default, 1.33
        (tmp_path / "dist" / env).mkdir(parents=True)
        (tmp_path / "dist" / env / "plc.yaml").write_text(FLOWCONTROL_V1BETA3)
    (tmp_path / "outside.yaml").write_text(FLOWCONTROL_V1BETA3)
    findings, summary = validate_paths([tmp_path / "dist", tmp_path / "outside.yaml"])
    assert sorted((Path(f.file).parent.name, f.code) for f in findings) == [
        (tmp_path.name, "V003"), ("unknown", "V003")]
    assert summary["kubernetes_version"] == "1.30, 1.33"
    findings, summary = validate_paths([tmp_path / "dist"], kubernetes_version="1.33")  # explicit wins
    assert [f.code for f in findings] == ["V003"] * 3 and summary["kubernetes_version"] == "1.33"


def test_broken_environment_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    make_project(tmp_path, {})
    (tmp_path / "environments" / "bad.yaml").write_text("kubernetesVersion: [1.30\n")
    (tmp_path / "dist" / "bad").mkdir(parents=True)
    (tmp_path / "dist" / "bad" / "plc.yaml").write_text(FLOWCONTROL_V1BETA3)
    result = run_infergate("validate", str(tmp_path / "dist"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.yaml" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
