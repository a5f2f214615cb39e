"""Multi-host TPU slices (infergate/synth/multihost.py, charts/worker.py): every multi-host topology of the
TPU table synthesizes into an LLMInferenceService KServe can run as a LeaderWorkerSet, validates and lints
clean; the lint graph sees the leader and worker pods KServe and LWS create; the NetworkPolicies let exactly
the hosts of a slice talk on the runtime's ports, and the security model notices when they do not.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from infergate.core.graph import Graph
from infergate.core.loader import load_paths
from infergate.crds import lockfile as lock
from infergate.netpol.command import cluster_from_path
from infergate.project.discovery import require_project
from infergate.synth import accelerators, multihost, profiles
from infergate.synth.config import startup_budget
from infergate.synth.run import synthesize
from infergate.validate import core_schema, crd_schema
from tests.conftest import FIXTURE_ENVS, make_project, run_infergate

FIXTURE = (FIXTURE_ENVS / "multihost" / "multihost.yaml").read_text(encoding="utf-8")
UPSTREAM = (Path(__file__).parent / "golden" / "envs" / "upstream.yaml").read_text(encoding="utf-8")
MULTI_HOST = [(acc, topo) for acc in accelerators.accelerators() for topo in accelerators.topologies(acc)
              if not accelerators.lookup(acc, topo).single_host]
SERVICE = "llama-70b-mh"
NS = "llm-d-inference-scheduling"


def _model(acc: str, topo: str) -> str:
    name = f"mh-{accelerators.lookup(acc, topo).generation}-{topo}"
    return f"""  - name: {name}
    namespace: models-up
    uri: hf://meta-llama/Llama-3.3-70B-Instruct
    servedName: {name}
    parameters: 70
    image: quay.io/example/vllm-tpu:1.0
    accelerator: {acc}
    topology: {topo}
    vllm: {{requests: {{cpu: "8", memory: 64Gi}}}}
"""


@pytest.fixture(scope="module")
def every_topology(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One upstream-2026 environment with a model on every multi-host topology."""
    # http: redirect: no plaintext route (GW203); the models are the point here
    base = UPSTREAM.split("models:\n")[0].replace("  http: serve\n", "  http: redirect\n")
    env = base + "models:\n" + "".join(_model(a, t) for a, t in MULTI_HOST)
    root = make_project(tmp_path_factory.mktemp("topologies") / "proj", {"every": env})
    synthesize(require_project(root), None, root / "dist")
    return root / "dist" / "every"


@pytest.fixture(scope="module")
def fixture_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("fixture") / "proj", {"multihost": FIXTURE})
    synthesize(require_project(root), None, root / "dist")
    return root / "dist" / "multihost"


def _services(dist: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(dist.glob("model-*/LLMInferenceService.*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[doc["metadata"]["name"]] = doc
    return out


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_the_table_has_multi_host_slices_of_every_generation() -> None:
    assert {accelerators.lookup(a, t).generation for a, t in MULTI_HOST} == {"v5e", "v5p", "v6e"}
    assert len(MULTI_HOST) == 14  # v6e and v5e: 4x4 4x8 8x8 8x16 16x16; v5p: 2x2x2 2x2x4 2x4x4 4x4x4


@pytest.mark.parametrize("profile", profiles.names())
def test_every_profile_crd_serves_worker_and_parallelism(profile: str) -> None:
    """spec.worker and spec.parallelism {tensor, pipeline} exist in every served version the profile pins."""
    entries = [lock.entry_named(n) for n in profiles.get(profile).crds if n.endswith("llminferenceservices")]
    assert entries
    for entry in entries:
        for doc in crd_schema.iter_crd_documents(entry):
            for version in doc["spec"]["versions"]:
                spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
                assert spec["worker"]["type"] == "object", (entry.name, version["name"])
                assert {"tensor", "pipeline"} <= set(spec["parallelism"]["properties"]), version["name"]


def test_every_multi_host_topology_becomes_one_pod_per_host(every_topology: Path) -> None:
    services = _services(every_topology)
    assert len(services) == len(MULTI_HOST)
    for acc, topo in MULTI_HOST:
        tpu = accelerators.lookup(acc, topo)
        spec = services[f"mh-{tpu.generation}-{topo}"]["spec"]
        where = f"{acc} {topo}"
        assert spec["parallelism"] == {"tensor": tpu.chips_per_host, "pipeline": tpu.hosts}, where
        assert multihost.group_size(spec["parallelism"]) == tpu.hosts, where  # KServe's LWS size
        assert spec["parallelism"]["tensor"] * spec["parallelism"]["pipeline"] == tpu.chips, where
        for pod in (spec["template"], spec["worker"]):
            assert pod["nodeSelector"] == tpu.node_selector(), where
            (main,) = pod["containers"]
            chips = {"google.com/tpu": str(tpu.chips_per_host)}
            assert main["resources"]["limits"] == chips, where
            assert main["resources"]["requests"]["google.com/tpu"] == chips["google.com/tpu"], where
            env = _env(main)
            assert env["TPU_CHIPS_PER_HOST_BOUNDS"] == ",".join(map(str, tpu.chips_per_host_bounds)), where
            assert env["TPU_HOST_BOUNDS"] == ",".join(map(str, tpu.host_bounds)), where
            assert env["TPU_PROCESS_PORT"] == str(multihost.TPU_PROCESS_PORT), where
        leader = spec["template"]["containers"][0]["args"][0]
        assert f"--tensor-parallel-size={tpu.chips_per_host}" in leader, where
        assert f"--pipeline-parallel-size={tpu.hosts}" in leader, where
        assert "--distributed-executor-backend=ray" in leader and "ray start --head" in leader, where
        assert "$LWS_LEADER_ADDRESS:6379" in spec["worker"]["containers"][0]["args"][0], where
        # the startup budget of the model (70B) plus the time the leader waits for every host to join
        probe = spec["template"]["containers"][0]["startupProbe"]
        assert probe["failureThreshold"] * probe["periodSeconds"] == \
            math.ceil(startup_budget(70) / 10) * 10 + multihost.JOIN_TIMEOUT_S, where
        assert not any(k.endswith("Probe") for k in spec["worker"]["containers"][0]), where


def test_ray_is_started_on_exactly_the_ports_the_policies_admit() -> None:
    """The pinned Ray flags and GROUP_PORTS agree: a port changed in one fails until the other follows."""
    head, worker = multihost.leader_script(["vllm"]), multihost.worker_script()
    for port in multihost.GROUP_PORTS:
        if port.end:
            for script in (head, worker):
                assert f"--min-worker-port={port.number}" in script
                assert f"--max-worker-port={port.end}" in script
        elif port.number == multihost.RAY_GCS_PORT:
            assert f"--head --port={port.number}" in head and f":{port.number}" in worker
        elif port.name.startswith("ray-"):
            assert f"={port.number} " in head and f"={port.number} " in worker, port


def test_the_namespace_gets_one_pipeline_parallel_config(every_topology: Path) -> None:
    configs = sorted(every_topology.glob("model-*/LLMInferenceServiceConfig.*.yaml"))
    assert [p.name for p in configs] == [f"LLMInferenceServiceConfig.{multihost.PIPELINE_CONFIG}.yaml"]
    doc = yaml.safe_load(configs[0].read_text(encoding="utf-8"))
    assert doc["apiVersion"] == profiles.get("upstream-2026").kserve.llmisvc_api_version
    assert doc["metadata"]["namespace"] == "models-up"


def test_leader_mounts_the_certificate_its_profile_issues(every_topology: Path, fixture_dist: Path) -> None:
    """odh: KServe's self-signed secret by its presets' template; upstream: infergate's own certificate."""
    odh = _services(fixture_dist)[SERVICE]["spec"]["template"]
    assert {"name": "tls-certs", "secret": {"secretName": multihost.KSERVE_TLS_SECRET}} in odh["volumes"]
    up = _services(every_topology)["mh-v6e-4x8"]["spec"]["template"]
    assert {"name": "tls-certs", "secret": {"secretName": "mh-v6e-4x8-vllm-tls"}} in up["volumes"]
    for template in (odh, up):
        mount = {"name": "tls-certs", "readOnly": True, "mountPath": multihost.KSERVE_TLS_DIR}
        assert mount in template["containers"][0]["volumeMounts"]


def _lws_validator() -> Any:
    (crd,), _ = crd_schema.chosen_crds([lock.entry_named("lws/leaderworkerset.x-k8s.io_leaderworkersets")])
    return jsonschema_rs.validator_for(crd_schema.json_schema(crd, core_schema.object_meta_defs("1.33")))


def test_the_leader_worker_set_kserve_makes_validates(every_topology: Path, fixture_dist: Path) -> None:
    validator = _lws_validator()
    services = {**_services(every_topology), **_services(fixture_dist)}
    for name, svc in services.items():
        if "worker" not in svc["spec"]:
            continue
        lws = multihost.kserve_leader_worker_set(svc)
        errors = [e.message for e in validator.iter_errors(lws)]
        assert errors == [], name
    bad = multihost.kserve_leader_worker_set(services[SERVICE])
    worker = bad["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    worker["containers"][0]["ports"][0]["containerPort"] = "6380"
    assert list(validator.iter_errors(bad)), "the validator must reject a malformed template"


def test_outputs_validate_and_lint_clean(every_topology: Path, fixture_dist: Path) -> None:
    for dist in (every_topology, fixture_dist):
        validate = run_infergate("validate", str(dist))
        assert validate.returncode == 0, validate.stdout + validate.stderr
        lint = run_infergate("lint", str(dist))
        assert lint.returncode == 0 and " 0 errors, 0 warnings, 0 infos" in lint.stdout, lint.stdout


# --- the lint graph ----------------------------------------------------------------------------------------
def test_graph_models_leader_and_workers_with_kserve_and_lws_labels(fixture_dist: Path) -> None:
    documents, problems = load_paths([fixture_dist])
    assert problems == []
    graph = Graph(documents)
    pods = {p.name: p for p in graph.pods if p.source.name == SERVICE and p.origin == "kserve"}
    leader, worker = pods["llama-70b-mh-kserve-mn"], pods["llama-70b-mh-kserve-mn-worker"]
    assert leader.role == "model-server" and worker.role == "model-worker"
    assert leader.labels == {
        "app.kubernetes.io/component": "llminferenceservice-workload-leader",
        "app.kubernetes.io/name": SERVICE, "app.kubernetes.io/part-of": "llminferenceservice",
        "kserve.io/component": "workload", "llm-d.ai/role": "both",
        "leaderworkerset.sigs.k8s.io/name": "llama-70b-mh-kserve-mn",
        "leaderworkerset.sigs.k8s.io/worker-index": "0"}
    assert worker.labels == {
        "app.kubernetes.io/component": "llminferenceservice-workload-worker",
        "app.kubernetes.io/name": SERVICE, "app.kubernetes.io/part-of": "llminferenceservice",
        "leaderworkerset.sigs.k8s.io/name": "llama-70b-mh-kserve-mn"}
    assert leader.service_account == worker.service_account == "llama-70b-mh-kserve-mn"
    # the pool routes to the leader (the API server), never to a worker
    (pool,) = [o for o in graph.of_kind("InferencePool") if o.name == f"{SERVICE}-inference-pool"]
    assert [p.name for p in graph.pods_matching(NS, pool.spec["selector"])] == ["llama-70b-mh-kserve-mn"]


# --- NetworkPolicies ---------------------------------------------------------------------------------------
def _verdicts(dist: Path) -> tuple[Any, dict[str, str]]:
    cluster = cluster_from_path(dist)
    keys = {e.name: e.key for e in cluster.endpoints}
    return cluster, keys


def test_leader_and_workers_talk_on_the_runtime_ports_only(fixture_dist: Path) -> None:
    cluster, keys = _verdicts(fixture_dist)
    ev = cluster.evaluator
    leader, worker = keys["llama-70b-mh-kserve-mn"], keys["llama-70b-mh-kserve-mn-worker"]
    other_model = keys["qwen2-3b-pattern1-kserve"]
    every_host = [p for p in multihost.GROUP_PORTS if not p.leader_only]
    samples = sorted({n for p in every_host
                      for n in (p.number, p.end or p.number, (p.number + (p.end or p.number)) // 2)})
    for port in samples:
        assert ev.explain(leader, worker, port, "TCP").allowed, port
        assert ev.explain(worker, leader, port, "TCP").allowed, port
    assert ev.explain(worker, leader, multihost.RAY_GCS_PORT, "TCP").allowed
    assert not ev.explain(leader, worker, multihost.RAY_GCS_PORT, "TCP").allowed  # workers run no GCS
    assert not ev.explain(worker, leader, 8000, "TCP").allowed  # a worker is no client of the API
    for port in (6379, 8000, 9999, 10001, 10102, 8475, 8477):
        assert not ev.explain(leader, worker, port, "TCP").allowed, port
    epps = [e.key for e in cluster.endpoints if e.role == "epp"]
    for src in (other_model, f"{NS}/(any pod)", *epps):
        for port in [*samples, multihost.RAY_GCS_PORT]:
            for dst in (leader, worker):
                assert not ev.explain(src, dst, port, "TCP").allowed, (src, dst, port)


def test_security_model_requires_the_slice_policies(fixture_dist: Path, tmp_path: Path) -> None:
    """Without the slice's policies the leader waits for workers that never join: NP105 says which flow."""
    copy = tmp_path / "proj"
    shutil.copytree(fixture_dist.parents[1], copy)
    dist = copy / "dist" / "multihost"
    for path in (dist / f"networkpolicies-{NS}").glob(f"NetworkPolicy.{SERVICE}-*.yaml"):
        if "slice" in path.name or "ray-head" in path.name:
            path.unlink()
    result = run_infergate("lint", str(dist))
    assert result.returncode == 1
    assert "required flow leader-to-model-worker is denied" in result.stdout
    assert "required flow model-worker-to-leader is denied" in result.stdout


def test_security_model_forbids_other_pods_into_a_slice(fixture_dist: Path, tmp_path: Path) -> None:
    copy = tmp_path / "proj"
    shutil.copytree(fixture_dist.parents[1], copy)
    dist = copy / "dist" / "multihost"
    policy = dist / f"networkpolicies-{NS}" / f"NetworkPolicy.{SERVICE}-slice-ingress.yaml"
    doc = yaml.safe_load(policy.read_text(encoding="utf-8"))
    doc["spec"]["ingress"][0]["from"].append({"podSelector": {"matchLabels": {
        "app.kubernetes.io/component": "llminferenceservice-workload",
        "app.kubernetes.io/name": "qwen2-3b-pattern1"}}})
    policy.write_text(yaml.safe_dump(doc), encoding="utf-8")
    egress = dist / f"networkpolicies-{NS}" / "NetworkPolicy.qwen2-3b-pattern1-vllm-egress.yaml"
    doc = yaml.safe_load(egress.read_text(encoding="utf-8"))
    doc["spec"]["egress"].append({"to": [{"podSelector": {"matchLabels": multihost.group_selector(SERVICE)}}],
                                  "ports": [{"port": 6380, "protocol": "TCP"}]})
    egress.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = run_infergate("lint", str(dist))
    assert result.returncode == 1
    assert "forbidden flow model-worker-from-others is allowed: model-server" in result.stdout
    assert "qwen2-3b-pattern1-kserve -> model-worker" in result.stdout


def test_worker_egress_is_held_to_the_model_server_rules(fixture_dist: Path, tmp_path: Path) -> None:
    """A worker runs vLLM's model code (Ray workers): NP107-NP109 guard its egress like the leader's (here
    NP109: an HTTPS rule to 0.0.0.0/0 contains the API server)."""
    copy = tmp_path / "proj"
    shutil.copytree(fixture_dist.parents[1], copy)
    dist = copy / "dist" / "multihost"
    policy = dist / f"networkpolicies-{NS}" / f"NetworkPolicy.{SERVICE}-slice-egress.yaml"
    doc = yaml.safe_load(policy.read_text(encoding="utf-8"))
    doc["spec"]["egress"][2]["to"] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    policy.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = run_infergate("lint", str(dist))
    assert result.returncode == 1
    (line,) = [x for x in result.stdout.splitlines() if " NP109 " in x]
    assert "llama-70b-mh-kserve-mn-worker" in line and "reach the API server" in line
