"""The in-cluster checks the charts generate: the smoke-test PostSync hook of every model and the isolation
probes of the security model, read back from the output (the Jobs run what they claim, with the client's
exact bytes, and the NetworkPolicies admit exactly their flows), and their environment switches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infergate.core.errors import ConfigError
from infergate.netpol.probeplan import plan
from infergate.netpol.security_model import security_model
from infergate.synth.config import load_environment
from tests.conftest import REPO, example_env_dirs, example_env_files, requires_examples, run_infergate

ENV_DIRS = example_env_dirs()
ENV_FILES = example_env_files()
ENVS = sorted(ENV_DIRS)
HOOK = {"argocd.argoproj.io/hook": "PostSync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded"}


def load_tree(root: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(p.parent.name, yaml.safe_load(p.read_text(encoding="utf-8")))
            for p in sorted(root.rglob("*.yaml"))]


def pick(objs: list[tuple[str, dict[str, Any]]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for _, o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def arg(command: list[str], flag: str) -> str | None:
    return command[command.index(flag) + 1] if flag in command else None


def assert_hardened_hook(job: dict[str, Any]) -> None:
    assert {k: job["metadata"]["annotations"][k] for k in HOOK} == HOOK
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] > 0 and spec["backoffLimit"] <= 1
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert "@sha256:" in container["image"] or ":" in container["image"].rsplit("/", 1)[-1]


def script_of(objs: list[tuple[str, dict[str, Any]]], job: dict[str, Any]) -> tuple[str, list[str]]:
    """(the script text the Job runs, the arguments after it), through its volume and ConfigMap."""
    pod = job["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert command[0] == "python"
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    folder, _, file = command[1].rpartition("/")
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[folder])
    (item,) = volume["configMap"]["items"]
    assert item["path"] == file
    (cm,) = [o for o in pick(objs, "ConfigMap", volume["configMap"]["name"])
             if o["metadata"]["namespace"] == job["metadata"]["namespace"]]
    return cm["data"][item["key"]], command[2:]


# --- the smoke test in the examples ------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_every_model_has_a_smoke_hook_that_calls_it_through_the_gateway(env: str) -> None:
    config = load_environment(ENV_FILES[env])
    objs = load_tree(ENV_DIRS[env])
    gw = config.gateway
    (cert,) = pick(objs, "Certificate", gw.tls.certificate_name)
    for model in config.models:
        (job,) = [o for f, o in objs if f == f"model-{model.name}" and o["kind"] == "Job"]
        assert job["metadata"]["namespace"] == gw.namespace  # where the gateway's certificate secret is
        assert_hardened_hook(job)
        text, args = script_of(objs, job)
        assert text.encode("utf-8") == (REPO / "infergate" / "serving" / "smoke.py").read_bytes()
        assert arg(args, "--url") == \
            f"https://{gw.name}-{gw.class_name}.{gw.namespace}.svc.cluster.local{model.path_prefix}"
        assert arg(args, "--model") == model.served_name
        # verified as a name the gateway's certificate carries, against the CA of that certificate's secret
        assert arg(args, "--server-name") in cert["spec"]["dnsNames"]
        pod = job["spec"]["template"]["spec"]
        if config.gateway.tls.issuer.acme:  # public certificate: the trust store, no ca.crt to mount
            assert "--ca-file" not in args and "-k" not in args and "--insecure" not in args
            continue
        ca_dir, _, ca_file = arg(args, "--ca-file").rpartition("/")
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == ca_dir)
        secret = next(v for v in pod["volumes"] if v["name"] == mount["name"])["secret"]
        assert secret == {"secretName": cert["spec"]["secretName"],
                          "items": [{"key": "ca.crt", "path": ca_file}]}
        assert "-k" not in args and "--insecure" not in args


@pytest.mark.parametrize("env", ENVS)
def test_flows_allow_smoke_to_the_gateway_only(env: str) -> None:
    out = run_infergate("flows", str(ENV_DIRS[env]), "--format", "json")
    assert out.returncode == 0, out.stderr
    cells = {(c["from"], c["to"], c["protocol"], c["port"]): c["status"]
             for c in json.loads(out.stdout)["flows"]}
    assert cells[("smoke", "gateway", "TCP", 443)] == "allowed"
    assert cells[("smoke", "model-server", "TCP", 8000)] == "denied"
    assert {s for (src, dst, _, _), s in cells.items() if src == "smoke" and dst not in ("gateway", "dns")} \
        == {"denied"}
    assert json.loads(out.stdout)["violations"] == []


def test_security_model_names_the_smoke_flows() -> None:
    model = security_model()
    assert [s.sources for s in model.required if s.id == "smoke-to-gateway"] == [("smoke",)]
    assert [s.to for s in model.forbidden if s.id == "smoke-to-model-server"] == ["model-server"]


# --- the switches, on a copy of pattern3 -------------------------------------------------------------------

def _project(tmp: Path, extra: str) -> Path:
    src = ENV_FILES["pattern3"].parent.parent
    root = tmp / "proj"
    root.mkdir()
    shutil.copy(src / "infergate.toml", root)
    shutil.copytree(src / "environments", root / "environments")
    with (root / "environments" / "pattern3.yaml").open("a", encoding="utf-8") as f:
        f.write(extra)
    out = run_infergate("synth", cwd=root)
    assert out.returncode == 0, out.stderr
    return root


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("probed"), "\nprobes: {enabled: true}\n")


@requires_examples
def test_smoke_switch_off_removes_the_hooks_and_their_policies(tmp_path: Path) -> None:
    root = _project(tmp_path, "\nsmoke: {enabled: false}\n")
    objs = load_tree(root / "dist" / "pattern3")
    assert pick(objs, "Job") == []
    assert [o for o in pick(objs, "ConfigMap") if "smoke" in o["metadata"]["name"]] == []
    assert pick(objs, "NetworkPolicy", "smoke-test-egress") == []
    (ingress,) = pick(objs, "NetworkPolicy", "inference-gateway-ingress")
    assert len(ingress["spec"]["ingress"]) == 1  # the listeners' public rule only
    assert not (root / "dist" / "pattern3" / "probes").exists()  # probes stay off by default
    flows = json.loads(run_infergate("flows", str(root / "dist" / "pattern3"), "--format", "json").stdout)
    assert "smoke" not in {c["from"] for c in flows["flows"]} and flows["violations"] == []


@requires_examples
def test_probes_switch_emits_one_hook_per_planned_probe(probed: Path) -> None:
    dist = probed / "dist" / "pattern3"
    objs = load_tree(dist)
    env = load_environment(probed / "environments" / "pattern3.yaml")
    probes = plan(env, security_model())
    jobs = {o["metadata"]["name"]: o for f, o in objs if f == "probes" and o["kind"] == "Job"}
    assert sorted(jobs) == sorted(p.name for p in probes)
    (app,) = pick(objs, "Application", "pattern3-probes")
    assert app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "3"
    script = (REPO / "infergate" / "netpol" / "tcpprobe.py").read_bytes()
    for probe in probes:
        job = jobs[probe.name]
        assert_hardened_hook(job)
        assert job["metadata"]["namespace"] == probe.source.namespace
        pod_labels = job["spec"]["template"]["metadata"]["labels"]
        assert pod_labels == {**probe.source.labels, "infergate.io/probe": probe.flow}
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["exec"]["command"] == ["false"]  # never behind a Service
        text, args = script_of(objs, job)
        assert text.encode("utf-8") == script
        checks = [args[i + 1:i + 5] for i, a in enumerate(args) if a == "--check"]
        assert checks == [[probe.flow, t.host, str(t.port), probe.expect] for t in probe.targets]
    kinds = {(p.flow, p.expect) for p in probes}
    assert {("gateway-to-epp-grpc", "connect"), ("model-server-port-from-others", "blocked"),
            ("model-server-to-metadata-server", "blocked"), ("smoke-to-gateway", "connect")} <= kinds


@requires_examples
def test_probed_output_validates_and_lints_clean(probed: Path) -> None:
    dist = probed / "dist"
    validated = run_infergate("validate", str(dist), "--summary")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    linted = run_infergate("lint", str(dist), "--format", "json")
    findings = [f for f in json.loads(linted.stdout)["findings"] if f["code"] != "NP110"]
    assert findings == []


@requires_examples
def test_flows_probes_lists_every_check_with_an_agreeing_static_verdict(probed: Path) -> None:
    out = run_infergate("flows", str(probed / "dist" / "pattern3"), "--probes", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["emitted"] is True
    checks = doc["checks"]
    assert all(c["agrees"] for c in checks), [c for c in checks if not c["agrees"]]
    by_flow = {(c["flow"], c["from_role"], c["to_role"]): c["static"] for c in checks}
    assert by_flow[("smoke-to-gateway", "smoke", "gateway")] == "allowed"
    assert by_flow[("smoke-to-model-server", "smoke", "model-server")] == "denied"
    assert by_flow[("model-server-to-metadata-server", "model-server", "metadata-server")] == "denied"
    # the probe pods in the output are role `probe`: no security-model violation comes from them
    flows = json.loads(run_infergate("flows", str(probed / "dist" / "pattern3"), "--format", "json").stdout)
    assert flows["violations"] == [] and "probe" in {c["from"] for c in flows["flows"]}


@requires_examples
def test_flows_probes_shows_a_disagreement_when_a_policy_is_missing(tmp_path: Path) -> None:
    shutil.copytree(ENV_DIRS["pattern1"].parent.parent, tmp_path / "proj")
    (tmp_path / "proj" / "dist" / "pattern1" / "networkpolicies-opendatahub" /
     "NetworkPolicy.smoke-test-egress.yaml").unlink()
    dist = tmp_path / "proj" / "dist" / "pattern1"
    out = run_infergate("flows", str(dist), "--probes")
    assert out.returncode == 0, out.stderr
    assert "probe-smoke-to-gateway-1" in out.stdout
    assert "denied (DISAGREES)" in out.stdout and "1 disagree" in out.stdout


def test_flows_probes_bad_input_is_one_line_exit_2() -> None:
    out = run_infergate("flows", str(REPO / "tests" / "fixtures" / "netpol" / "seed-pattern1"), "--probes")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--probes needs" in out.stderr
    if ENVS:
        out = run_infergate("flows", str(ENV_DIRS[ENVS[0]]), "--probes", "--format", "mermaid")
        assert out.returncode == 2 and "table or json" in out.stderr


@pytest.mark.parametrize(("extra", "message"), [
    ("smoke: {enabled: 'no'}", "smoke.enabled: expected boolean"),
    ("probes: {enable: true}", "probes.enable: unknown key 'enable'"),
])
def test_switches_are_checked(tmp_path: Path, extra: str, message: str) -> None:
    if not ENV_FILES:
        pytest.skip("needs the examples")
    env = tmp_path / "environments" / "pattern1.yaml"
    env.parent.mkdir()
    env.write_text(ENV_FILES["pattern1"].read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_environment(env)


@requires_examples
def test_smoke_trusts_the_public_roots_when_the_listener_certificate_is_acme() -> None:
    """An ACME secret holds no ca.crt (PKI803): the Job verifies against the image's trust store instead."""
    import yaml

    from tests.conftest import EXAMPLES

    job = yaml.safe_load(next((EXAMPLES / "upstream-2026" / "dist" / "acme").glob("model-*/Job.*-smoke.yaml"))
                         .read_text())
    pod = job["spec"]["template"]["spec"]
    args = pod["containers"][0]["command"]
    assert "--ca-file" not in args and "--server-name" in args and "--url" in args
    assert all(v.get("name") != "gateway-ca" for v in pod.get("volumes", []))
