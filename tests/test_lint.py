"""infergate lint: the seed's mistakes, dist/ clean, config, suppression, outputs, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from infergate.crds import lockfile as crds
from infergate.lint import lint_paths, load_config
from infergate.lint.config import LintConfig
from tests.conftest import REPO, example_env_dirs, run_infergate

FIXTURES = REPO / "tests" / "fixtures" / "lint"
SEED = FIXTURES / "seed-pattern1"
SEED_CONFIG = FIXTURES / "seed-pattern1.toml"

# The reference deployment's own mistakes, rule by rule: (file, line, code). NP1xx (NetworkPolicy) findings
# on networkpolicies.yaml belong to the NetworkPolicy rules and are checked by their tests.
SEED_EXPECTED = {
    ("httproute.yaml", 9, "GW204"),  # parent Gateway infra-pattern1-inference-gateway does not exist
    ("httproute.yaml", 18, "GW205"),  # backend InferencePool gaie-pattern1 does not exist
    ("httproute.yaml", 18, "INF303"),  # a v1 pool behind Istio 1.26
    ("llmisvc-tpu.yaml", 7, "GW203"),  # KServe's route also answers on the plaintext http listener
    ("llmisvc-tpu.yaml", 7, "INF306"),  # KServe's workload Service is appProtocol https, vLLM serves HTTP
    ("llmisvc-tpu.yaml", 18, "INF306"),  # the managed EPP scrapes metrics over https
    ("llmisvc-tpu.yaml", 31, "INF308"),  # no --served-model-name: vLLM answers to /mnt/models only
    ("llmisvc-tpu.yaml", 46, "INF309"),  # secretKeyRef huggingface-token, the guide created hf-token
    ("llmisvc-tpu.yaml", 48, "SEC603"),  # no cpu/memory requests on the model server
    ("llmisvc-tpu.yaml", 57, "INF306"),  # HTTPS liveness probe on HTTP vLLM
    ("llmisvc-tpu.yaml", 66, "INF306"),  # HTTPS readiness probe on HTTP vLLM
    ("llmisvc-tpu.yaml", 71, "INF309"),  # pull secret name the architecture doc does not create
}


def _seed_findings(**kwargs):
    findings, summary = lint_paths([SEED], config=load_config(SEED_CONFIG), **kwargs)
    return findings, summary


def test_reference_deployment_mistakes_are_caught_rule_by_rule() -> None:
    findings, _ = _seed_findings()
    got = {(Path(f.file).name, f.line, f.code) for f in findings if not f.code.startswith("NP")}
    assert got == SEED_EXPECTED


# The NetworkPolicy mistakes of the same deployment, caught by the NP1xx rules (policies/netpol.py).
SEED_NETPOL_EXPECTED = {
    ("networkpolicies.yaml", 39, "NP102"),  # the "kubelet" ingress peer admits every pod of every namespace
    ("networkpolicies.yaml", 70, "NP103"),  # "internet" egress written as namespaceSelector: {} (pods only)
    ("networkpolicies.yaml", 75, "NP103"),  # API server egress as podSelector component: apiserver
    ("networkpolicies.yaml", 91, "NP104"),  # EPP policy with the wrong component label selects nothing
}


def test_reference_deployment_netpol_mistakes_are_caught() -> None:
    findings, _ = _seed_findings(select=["NP"])
    got = {(Path(f.file).name, f.line, f.code) for f in findings}
    assert got >= SEED_NETPOL_EXPECTED


def test_seed_findings_name_the_object() -> None:
    findings, _ = _seed_findings(select=["INF308"])
    (finding,) = findings
    assert (finding.kind, finding.namespace, finding.name) == (
        "LLMInferenceService", "llm-d-inference-scheduling", "qwen2-3b-pattern1")
    assert finding.apiVersion == "serving.kserve.io/v1alpha1" and finding.severity.value == "warning"


@pytest.mark.parametrize("env", sorted(example_env_dirs()))
def test_dist_lints_without_errors(env: str) -> None:
    findings, summary = lint_paths([example_env_dirs()[env]], config=LintConfig())
    errors = [f"{f.file}:{f.line} {f.code} {f.message}" for f in findings if f.severity.value == "error"]
    assert errors == []
    assert summary["input_errors"] == 0


# ---- suppression ------------------------------------------------------------------------------------
SUPPRESSED = """\
apiVersion: v1
kind: Secret
metadata:
  name: demo
  namespace: demo
  annotations:
    ignore-check.infergate.io/CD504: "{reason}"
stringData: {{token: x}}
"""


def test_suppression_with_reason_is_counted(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SUPPRESSED.format(reason="test fixture, not a real secret"))
    findings, summary = lint_paths([tmp_path], config=LintConfig())
    assert findings == [] and summary["suppressed"] == 1


def test_suppression_without_reason_is_a_finding_and_suppresses_nothing(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SUPPRESSED.format(reason="  "))
    findings, summary = lint_paths([tmp_path], config=LintConfig())
    assert sorted((f.code, f.line) for f in findings) == [("CD504", 8), ("SUP001", 7)]
    assert summary["suppressed"] == 0


def test_suppression_of_unknown_rule_is_reported(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SUPPRESSED.format(reason="typo").replace("CD504", "CD540"))
    codes = sorted(f.code for f in lint_paths([tmp_path], config=LintConfig())[0])
    assert codes == ["CD504", "SUP002"]


# ---- config -----------------------------------------------------------------------------------------
def test_select_ignore_and_severity_override(tmp_path: Path) -> None:
    config_file = tmp_path / ".infergate.toml"
    config_file.write_text('[lint]\nclosed-world = true\nignore = ["GW", "INF303", "INF306", "INF308"]\n'
                           '[lint.severity]\nINF309 = "error"\n'
                           'SEC603 = "info"\n')
    findings, _ = lint_paths([SEED], config=load_config(config_file))
    got = {(f.code, f.severity.value) for f in findings if not f.code.startswith("NP")}
    assert got == {("INF309", "error"), ("SEC603", "info")}
    findings, _ = lint_paths([SEED], config=LintConfig(), select=["SEC"])
    assert {f.code for f in findings} == {"SEC603"}


def test_exclude_patterns(tmp_path: Path) -> None:
    config_file = tmp_path / "pyproject.toml"
    config_file.write_text('[tool.infergate.lint]\nexclude = ["*/httproute.yaml", "*/llmisvc-tpu.yaml"]\n')
    findings, summary = lint_paths([SEED], config=load_config(config_file), select=["GW", "INF"])
    assert findings == [] and summary["files"] == 2


def test_config_typos_exit_2_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[lint]\nselekt = ["GW"]\n')
    result = run_infergate("lint", str(SEED), "--config", str(bad))
    assert result.returncode == 2 and "selekt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    bad.write_text('[lint.severity]\nGW201 = "fatal"\n')
    result = run_infergate("lint", str(SEED), "--config", str(bad))
    assert result.returncode == 2 and "fatal" in result.stderr and "Traceback" not in result.stderr


# ---- CLI: formats and exit codes --------------------------------------------------------------------
def test_text_output_names_file_line_code_and_object() -> None:
    result = run_infergate("lint", str(SEED), "--config", str(SEED_CONFIG), "--select", "INF308")
    assert result.returncode == 0  # a warning does not fail the default threshold
    line = result.stdout.splitlines()[0]
    assert line.endswith("(LLMInferenceService llm-d-inference-scheduling/qwen2-3b-pattern1)")
    assert ":31: INF308 [warning] vLLM serves /mnt/models" in line


def test_fail_on_threshold() -> None:
    args = ("lint", str(SEED), "--config", str(SEED_CONFIG), "--select", "INF308,SEC")
    assert run_infergate(*args).returncode == 0  # warnings only
    assert run_infergate(*args, "--fail-on", "warning").returncode == 1
    assert run_infergate("lint", str(SEED), "--config", str(SEED_CONFIG)).returncode == 1


def test_json_contract() -> None:
    result = run_infergate("lint", str(SEED), "--config", str(SEED_CONFIG), "--format", "json")
    doc = json.loads(result.stdout)
    assert set(doc) == {"findings", "summary"}
    for finding in doc["findings"]:
        assert {"code", "slug", "severity", "message", "file", "line", "apiVersion", "kind", "namespace",
                "name"} <= set(finding)
    summary = doc["summary"]
    assert summary["error"] == sum(f["severity"] == "error" for f in doc["findings"])
    assert {"files", "objects", "findings", "suppressed", "rules"} <= set(summary)


def test_github_and_junit_outputs() -> None:
    args = ("lint", str(SEED), "--config", str(SEED_CONFIG), "--select", "INF308")
    github = run_infergate(*args, "--format", "github").stdout
    assert github.startswith("::warning file=") and "line=31" in github and "title=INF308 " in github
    junit = run_infergate(*args, "--format", "junit").stdout
    assert junit.startswith("<?xml") and 'classname="INF308"' in junit


def _sarif_schema(mirror: Path) -> dict:
    entry = crds.entry_named("sarif-2.1.0")
    crds.sync_entry(entry, mirror)  # no-op when `make` already synced it
    return json.loads(crds.verified_path(entry).read_text(encoding="utf-8"))


def test_sarif_validates_against_pinned_schema(mirror: Path) -> None:
    result = run_infergate("lint", str(SEED), "--config", str(SEED_CONFIG), "--format", "sarif")
    doc = json.loads(result.stdout)
    jsonschema.Draft7Validator(_sarif_schema(mirror)).validate(doc)
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"GW201", "INF306", "SEC604", "DEP701"} <= set(rules)
    assert rules["INF306"]["help"]["text"].startswith("Whether vLLM serves HTTPS")
    assert rules["INF306"]["helpUri"].endswith("#inf306")
    assert {r["ruleId"] for r in run["results"]} >= {"INF306", "INF308", "GW204"}
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]


def test_unreadable_input_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    result = run_infergate("lint", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "E001" in result.stdout and "bad.yaml:" in result.stdout
    missing = run_infergate("lint", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stdout


def test_clean_input_exits_0(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n")
    result = run_infergate("lint", str(tmp_path))
    assert result.returncode == 0 and "0 errors" in result.stdout


# ---- rules / explain --------------------------------------------------------------------------------
def test_rules_table_lists_every_code() -> None:
    from infergate.policies import all_rules

    out = run_infergate("rules").stdout
    for r in all_rules():
        assert f"{r.code} " in out and r.slug in out
    codes = {r.code for r in all_rules()}
    table = {f"GW20{i}" for i in range(1, 6)} | {f"INF30{i}" for i in range(1, 10)} | {
        "TPU401", "TPU402", "TPU403", "CD501", "CD502", "CD503", "CD504", "CD505", "SEC601", "SEC602",
        "SEC603", "SEC604", "DEP701"}
    assert table <= codes


def test_explain_prints_what_why_fix_examples() -> None:
    result = run_infergate("explain", "inf308")
    assert result.returncode == 0
    for part in ("INF308 served-model-name-mismatch [warning]", "Why:", "Fix:", "Bad", "Good",
                 "--served-model-name", "ignore-check.infergate.io/INF308"):
        assert part in result.stdout


def test_explain_unknown_code_exits_2() -> None:
    result = run_infergate("explain", "XYZ999")
    assert result.returncode == 2 and "unknown rule code" in result.stderr


def test_docs_rules_md_is_current() -> None:
    from infergate.lint.docs import REGENERATE, rules_markdown

    current = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), f"docs/rules.md is stale: run `{REGENERATE}`"


def test_every_policy_module_is_discovered() -> None:
    from infergate.policies import all_rules

    modules = {p.stem for p in (REPO / "policies").glob("*.py") if not p.stem.startswith("_")}
    assert modules <= {r.family for r in all_rules()}


def test_a_crashing_rule_is_reported_not_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import infergate.policies as policies

    from infergate.lint import engine

    def boom(graph: object) -> list:
        raise KeyError("spec")

    broken = dataclasses.replace(policies.rule_by_code("SEC603"), check=boom)
    others = [r for r in policies.all_rules() if r.code in ("INF308",)]
    monkeypatch.setattr(engine, "selected_rules", lambda select=(), ignore=(): [broken, *others])
    findings, _ = lint_paths([SEED], config=load_config(SEED_CONFIG))
    assert {f.code for f in findings} >= {"E002", "INF308"}
    assert any("SEC603 crashed" in f.message for f in findings if f.code == "E002")


def test_platform_flags_override_facts(tmp_path: Path) -> None:
    base = ("lint", str(SEED), "--select", "INF309", "--closed-world")
    assert run_infergate(*base).stdout.count(" INF309 ") == 2
    # open world (the default outside dist/<env>): the Secrets may come from `kubectl create secret`
    open_world = run_infergate("lint", str(SEED), "--select", "INF309")
    assert open_world.returncode == 0 and " INF309 " not in open_world.stdout
    assert open_world.stdout.count(" REF001 [info] Secret llm-d-inference-scheduling/") == 2
    result = run_infergate(*base, "--provided-secret", "llm-d-inference-scheduling/huggingface-token",
                           "--provided-secret", "llm-d-inference-scheduling/11009103-jhull-svc-pull-secret")
    assert " INF309 " not in result.stdout
    (tmp_path / "route.yaml").write_text((SEED / "httproute.yaml").read_text())  # a v1 pool backend
    unknown = run_infergate("lint", str(tmp_path), "--select", "INF303").stdout
    assert " INF303 " not in unknown  # no Istio version known: not checked
    result = run_infergate("lint", str(tmp_path), "--select", "INF303", "--istio-version", "v1.26.6")
    assert " INF303 " in result.stdout and "needs Istio 1.28 (profile upstream-2026)" in result.stdout


def test_config_is_discovered_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".infergate.toml").write_text('[lint]\nselect = ["INF308"]\nfail-on = "warning"\n')
    result = run_infergate("lint", str(SEED), cwd=tmp_path / "sub")
    assert result.returncode == 1 and " INF308 " in result.stdout and " INF306 " not in result.stdout
    (tmp_path / ".infergate.toml").unlink()
    (tmp_path / "pyproject.toml").write_text('[tool.infergate.lint]\nignore = ["INF", "GW", "SEC", "NP"]\n')
    result = run_infergate("lint", str(SEED), cwd=tmp_path / "sub")
    assert result.returncode == 0 and "0 errors, 0 warnings" in result.stdout
