"""The generated stacks are wired right: every reference resolves, TPU numbers agree, modes differ as
documented, NetworkPolicies admit only named peers, and Argo CD orders and covers every folder."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from infergate.synth.config import load_environment
from tests.conftest import example_dist_roots, example_env_dirs, example_env_files, example_projects

ENV_DIRS = example_env_dirs()
ENV_FILES = example_env_files()
ENVS = sorted(ENV_DIRS)


@cache
def objects(env: str) -> list[tuple[str, dict[str, Any]]]:
    """(folder, object) for everything under dist/<env>/."""
    out = []
    for path in sorted(ENV_DIRS[env].rglob("*.yaml")):
        out.append((path.parent.name, yaml.safe_load(path.read_text(encoding="utf-8"))))
    return out


def find(env: str, kind: str, name: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
    return [o for _, o in objects(env) if o["kind"] == kind
            and (name is None or o["metadata"]["name"] == name)
            and (namespace is None or o["metadata"].get("namespace") == namespace)]


def one(env: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    found = find(env, kind, name, namespace)
    assert len(found) == 1, f"{kind}/{namespace}/{name}: {len(found)} objects"
    return found[0]


def main_container(svc: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in svc["spec"]["template"]["containers"] if c["name"] == "main")


@pytest.mark.parametrize("env", ENVS)
def test_explicit_mode_references_resolve(env: str) -> None:
    config = load_environment(ENV_FILES[env])
    explicit = [m for m in config.models if m.router == "explicit"]
    assert explicit
    for model in explicit:
        ns = model.namespace
        svc = one(env, "LLMInferenceService", model.name, ns)
        router = svc["spec"]["router"]
        (route_ref,) = router["route"]["http"]["refs"]
        route = one(env, "HTTPRoute", route_ref["name"], ns)
        (gw_ref,) = router["gateway"]["refs"]
        gateway = one(env, "Gateway", gw_ref["name"], gw_ref["namespace"])
        pool = one(env, "InferencePool", router["scheduler"]["pool"]["ref"]["name"], ns)
        # route: attached to the gateway's https listener, prefix rewritten to /, backend = the pool
        listeners = {lst["name"] for lst in gateway["spec"]["listeners"]}
        for parent in route["spec"]["parentRefs"]:
            assert (parent["name"], parent["namespace"]) == (gw_ref["name"], gw_ref["namespace"])
            assert parent["sectionName"] in listeners
        rule, *shared = route["spec"]["rules"]  # gateway.sharedPath adds one rule on the shared path
        assert len(shared) == (1 if config.gateway.shared_path else 0)
        for extra in shared:
            assert extra["backendRefs"] == rule["backendRefs"]
        assert rule["matches"][0]["path"] == {"type": "PathPrefix", "value": model.path_prefix}
        assert rule["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"] == "/"
        group = config.profile.pool_group  # the platform profile's pool API, everywhere
        assert pool["apiVersion"] == config.profile.pool_api_version
        assert rule["backendRefs"] == [{"group": group, "kind": "InferencePool",
                                        "name": pool["metadata"]["name"], "weight": 1}]
        # pool: selects the vLLM pods by KServe's labels, on the vLLM port, EPP service on 9002
        kserve_labels = {"app.kubernetes.io/name": model.name,
                         "app.kubernetes.io/part-of": "llminferenceservice",
                         "kserve.io/component": "workload"}
        vllm_port = main_container(svc)["ports"][0]["containerPort"]
        if config.profile.ga_pool:
            assert pool["spec"]["selector"] == {"matchLabels": kserve_labels}
            assert pool["spec"]["targetPorts"] == [{"number": vllm_port}]
            ext = pool["spec"]["endpointPickerRef"]
            epp_port = ext["port"]["number"]
        else:
            assert pool["spec"]["selector"] == kserve_labels
            assert pool["spec"]["targetPortNumber"] == vllm_port
            ext = pool["spec"]["extensionRef"]
            epp_port = ext["portNumber"]
        epp_svc = one(env, "Service", ext["name"], ns)
        assert epp_port == 9002 and 9002 in [p["port"] for p in epp_svc["spec"]["ports"]]
        deploy = one(env, "Deployment", ext["name"], ns)
        pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
        assert epp_svc["spec"]["selector"].items() <= pod_labels.items()
        args = deploy["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args[args.index("--pool-name") + 1] == pool["metadata"]["name"]
        assert args[args.index("--pool-namespace") + 1] == ns
        assert args[args.index("--pool-group") + 1] == group
        sa = deploy["spec"]["template"]["spec"]["serviceAccountName"]
        binding = one(env, "RoleBinding", sa, ns)
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]
        objective = one(env, model.epp.objective_kind, model.name, ns)
        assert objective["apiVersion"] == config.profile.objective_api_version
        assert objective["spec"]["poolRef"] == {"group": group, "kind": "InferencePool",
                                                "name": pool["metadata"]["name"]}
        role = one(env, "Role", binding["roleRef"]["name"], ns)
        readable = {r for rule in role["rules"] for r in rule["resources"]}
        watched = f"{model.epp.objective_kind.lower()}s"
        assert {"pods", "endpointslices", "inferencepools", watched} <= readable
        # a TLS-serving EPP gets a certificate and the gateway a DestinationRule to reach it
        if "--secure-serving" in args:
            one(env, "DestinationRule", ext["name"], ns)
            volumes = deploy["spec"]["template"]["spec"]["volumes"]
            secret = volumes[0]["secret"]["secretName"]
            assert [c for c in find(env, "Certificate", namespace=ns) if c["spec"]["secretName"] == secret]
        else:
            assert not find(env, "DestinationRule", ext["name"], ns)


@pytest.mark.parametrize("env", ENVS)
def test_tpu_numbers_agree_and_probes_match_tls(env: str) -> None:
    for svc in find(env, "LLMInferenceService"):
        main = main_container(svc)
        args = main["args"]
        tp = int(next(a for a in args if a.startswith("--tensor-parallel-size=")).split("=")[1])
        resources = main["resources"]
        assert resources["requests"]["google.com/tpu"] == resources["limits"]["google.com/tpu"] == str(tp)
        env_vars = {e["name"]: e.get("value") for e in main["env"]}
        chips = [int(x) for x in env_vars["TPU_CHIPS_PER_HOST_BOUNDS"].split(",")]
        assert chips[0] * chips[1] * chips[2] == tp
        selector = svc["spec"]["template"]["nodeSelector"]
        topology = selector["cloud.google.com/gke-tpu-topology"]
        assert selector["cloud.google.com/gke-tpu-accelerator"].endswith(("-slice", "-podslice"))
        assert math.prod(int(d) for d in topology.split("x")) == tp  # single host: the whole slice
        scheme = "HTTPS" if any(a.startswith("--ssl-certfile") for a in args) else "HTTP"
        probes = (main["livenessProbe"], main["readinessProbe"])
        assert [p["httpGet"]["scheme"] for p in probes] == [scheme, scheme]
        assert any(a.startswith("--served-model-name=") for a in args)


def test_managed_mode_emits_only_the_service() -> None:
    folder = [o for f, o in objects("pattern3") if f == "model-phi3-mini-pattern3"]
    smoke = [o for o in folder if o["metadata"]["labels"].get("app.kubernetes.io/component") == "smoke-test"]
    assert sorted(o["kind"] for o in smoke) == ["ConfigMap", "Job"]  # the PostSync hook, not routing
    folder = [o for o in folder if o not in smoke]
    assert [o["kind"] for o in folder] == ["LLMInferenceService"]
    assert folder[0]["spec"]["router"] == {"route": {}, "gateway": {}, "scheduler": {}}
    # ...and its NetworkPolicies select the controller-made EPP by its real labels ((e) #7)
    epp_in = one("pattern3", "NetworkPolicy", "phi3-mini-pattern3-epp-ingress", "llm-d-caching")
    assert epp_in["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == \
        "llminferenceservice-router-scheduler"


def _peers(policy: dict[str, Any]) -> list[dict[str, Any]]:
    spec = policy["spec"]
    return [p for r in spec.get("ingress", []) for p in r.get("from", [])] + \
        [p for r in spec.get("egress", []) for p in r.get("to", [])]


@pytest.mark.parametrize("env", ENVS)
def test_network_policies_are_default_deny_with_named_peers(env: str) -> None:
    config = load_environment(ENV_FILES[env])
    for ns in config.model_namespaces:
        deny = one(env, "NetworkPolicy", "default-deny-all", ns)
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for policy in find(env, "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []) + policy["spec"].get("egress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']}: a rule without ports"
            assert rule.get("from", rule.get("to")), f"{policy['metadata']['name']}: a rule without peers"
        for peer in _peers(policy):
            assert peer, "empty peer admits everything"
            if "namespaceSelector" in peer:
                assert peer["namespaceSelector"].get("matchLabels"), "namespaceSelector {} = every namespace"
        if policy["metadata"]["name"] not in ("default-deny-all", "allow-dns-egress"):
            assert policy["spec"]["podSelector"], policy["metadata"]["name"]
    for model in config.models:
        vllm = one(env, "NetworkPolicy", f"{model.name}-vllm-ingress", model.namespace)
        assert vllm["spec"]["podSelector"]["matchLabels"]["kserve.io/component"] == "workload"  # (e) #8
        egress = one(env, "NetworkPolicy", f"{model.name}-epp-egress", model.namespace)
        blocks = [p["ipBlock"]["cidr"] for p in _peers(egress) if "ipBlock" in p]
        assert blocks == list(config.platform.api_server_cidrs)  # the API server by ipBlock, (e) #5


@pytest.mark.parametrize("env", ENVS)
def test_argo_covers_every_folder_in_wave_order(env: str) -> None:
    apps = {a["metadata"]["name"]: a for a in find(env, "Application")}
    root = apps.pop(f"{env}-root")
    dist_path = load_environment(ENV_FILES[env]).argocd.dist_path
    assert root["spec"]["source"]["path"] == f"{dist_path}/{env}/argocd"
    by_path = {a["spec"]["source"].get("path"): a for a in apps.values()}
    folders = sorted(p.name for p in ENV_DIRS[env].iterdir() if p.name not in ("argocd", "bootstrap"))
    for folder in folders:
        assert f"{dist_path}/{env}/{folder}" in by_path, f"no Application syncs {folder}"
    wave = {name.removeprefix(f"{env}-"): int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
            for name, a in apps.items()}
    models = [w for n, w in wave.items() if n.startswith("model-")]
    policies = [w for n, w in wave.items() if n.startswith("networkpolicies-")]
    assert wave["namespaces"] < wave["cert-manager"] < wave["pki"] < wave["kserve"] < wave["gateway"]
    assert wave["sail-operator"] < wave["mesh"] < wave["gateway"] < min(policies)
    assert max(policies) < min(models)
    for name in ("cert-manager", "sail-operator", "kserve"):
        source = apps[f"{env}-{name}"]["spec"]["source"]
        assert source["targetRevision"] not in ("HEAD", "main", "master", "latest", "*")
        assert "ServerSideApply=true" in apps[f"{env}-{name}"]["spec"]["syncPolicy"]["syncOptions"]
    extra = {e.folder for e in load_environment(ENV_FILES[env]).extra}  # the user's files, byte for byte
    for folder, obj in objects(env):  # CRs of other Applications' CRDs skip the dry run
        group = obj["apiVersion"].split("/")[0]
        if folder not in extra and group.endswith(("kserve.io", "x-k8s.io", "cert-manager.io", "istio.io",
                                                   "sailoperator.io", "gateway.networking.k8s.io")):
            assert obj["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == \
                "SkipDryRunOnMissingResource=true"


@pytest.mark.parametrize("project", example_projects(), ids=lambda p: p.name)
def test_fleet_application_set_lists_exactly_the_projects_environments(project: Path) -> None:
    """Each project's fleet covers its own environments, never another project's (or an example's)."""
    fleet = project / "dist" / "fleet"
    (appset,) = [yaml.safe_load(p.read_text()) for p in fleet.glob("ApplicationSet.*.yaml")]
    elements = appset["spec"]["generators"][0]["list"]["elements"]
    envs = sorted(p.stem for p in (project / "environments").glob("*.yaml") if not p.stem.startswith("_"))
    assert [e["env"] for e in elements] == envs
    repo_root = project.parent.parent  # distPath is relative to the Git repository Argo CD syncs
    for element in elements:
        config = load_environment(project / "environments" / f"{element['env']}.yaml")
        assert (element["cluster"], element["server"]) == (config.cluster.name, config.cluster.server)
        assert Path(repo_root / element["path"]).is_dir()


def test_no_secret_values_are_generated() -> None:
    assert not [p for root in example_dist_roots() for p in root.rglob("Secret.*.yaml")]
