"""The endpoint picker (EPP) of one InferencePool, for router mode `explicit`.

Same flags, ports and hardening as the controller's scheduler preset, with the
scorer weights from the environment, its own least-privilege RBAC, a certificate from the internal CA when
it serves TLS, and the DestinationRule that lets the Istio gateway reach it over that TLS. API groups
(pool, objectives) follow the environment's platform profile. With more than one replica the pickers
either all serve (a PodDisruptionBudget keeps one up, pods spread over nodes) or elect a leader.
"""

from __future__ import annotations

import yaml
from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import fqdn, labels, meta
from infergate.charts.gateway import CA_FILE
from infergate.charts.resources import Certificate, DestinationRule, DestinationRuleSpec

from infergate.synth.config import Environment, Model
from infergate.synth.profiles import Profile

GRPC_PORT, HEALTH_PORT, METRICS_PORT = 9002, 9003, 9090
CERT_DIR = "/var/run/kserve/tls"
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
# With leader election the health server answers per service: "liveness" on every replica, "readiness"
# (and ext_proc) only on the leader, so the standby must be probed for liveness by name or it restarts.
LIVENESS_SERVICE, READINESS_SERVICE = "liveness", "readiness"
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"
OBJECTIVE_RESOURCES = {"InferenceObjective": "inferenceobjectives", "InferenceModel": "inferencemodels"}


def leader_election(model: Model) -> bool:
    return model.epp.replicas > 1 and model.epp.high_availability == "leader-election"


def picker_config(model: Model, profile: Profile) -> str:
    """EndpointPickerConfig: the scorers and their weights (the CRD has no field for them)."""
    scorers = list(model.epp.scorer_weights)
    doc = {
        "apiVersion": profile.epp_config_api_version,
        "kind": "EndpointPickerConfig",
        "plugins": [{"type": "single-profile-handler"}, *({"type": s} for s in scorers),
                    {"type": "max-score-picker"}],
        "schedulingProfiles": [{"name": "default", "plugins": [
            *({"pluginRef": s, "weight": w} for s, w in model.epp.scorer_weights.items()),
            {"pluginRef": "max-score-picker"}]}],
    }
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def epp_args(model: Model, profile: Profile) -> list[str]:
    args = ["--pool-name", model.pool_name, "--pool-namespace", model.namespace,
            "--pool-group", profile.pool_group, "--zap-encoder", "json", "--grpc-port", str(GRPC_PORT),
            "--grpc-health-port", str(HEALTH_PORT)]
    if leader_election(model):
        args.append("--ha-enable-leader-election")
    if model.epp.secure_serving:
        args += ["--secure-serving", "--cert-path", CERT_DIR]
    else:
        args.append("--secure-serving=false")
    # the EPP scrapes vLLM's /metrics with the scheme vLLM serves
    args += ["--model-server-metrics-scheme", "https" if model.vllm.tls else "http",
             "--config-text", picker_config(model, profile)]
    return args


def metrics_auth_args(env: Environment) -> list[str]:
    """With monitoring on, the metrics port serves without a token (neither GMP's collector nor infergate's
    PodMonitor sends one); the NetworkPolicies admit only the scraper there (charts/monitoring.py)."""
    return ["--metrics-endpoint-auth=false"] if env.monitoring.enabled else []


def _grpc_probe(initial: int, service: str = EXT_PROC_SERVICE) -> k8s.Probe:
    return k8s.Probe(grpc=k8s.GrpcAction(port=HEALTH_PORT, service=service),
                     initial_delay_seconds=initial, period_seconds=10, timeout_seconds=1, failure_threshold=3)


def rbac_rules(model: Model, profile: Profile) -> list[k8s.PolicyRule]:
    """Read access to what the picker watches: pods, its pool, objectives (and model rewrites)."""
    watch = ["get", "list", "watch"]
    objective_resources = {OBJECTIVE_RESOURCES[k] for k in profile.objective_kinds}
    if profile.model_rewrite_api_version:
        objective_resources.add("inferencemodelrewrites")
    if profile.pool_group == profile.objective_group:
        objective_resources.add("inferencepools")
    rules = [
        k8s.PolicyRule(api_groups=[""], resources=["pods"], verbs=watch),
        k8s.PolicyRule(api_groups=[profile.objective_group], resources=sorted(objective_resources),
                       verbs=watch),
        # the GA group in every profile, as KServe's own EPP Role grants it
        k8s.PolicyRule(api_groups=["inference.networking.k8s.io"], resources=["inferencepools"], verbs=watch),
        k8s.PolicyRule(api_groups=["discovery.k8s.io"], resources=["endpointslices"], verbs=watch),
    ]
    if leader_election(model):  # the lease the replicas compete for, and its events
        rules += [k8s.PolicyRule(api_groups=["coordination.k8s.io"], resources=["leases"],
                                 verbs=["get", "list", "watch", "create", "update", "patch", "delete"]),
                  k8s.PolicyRule(api_groups=[""], resources=["events"], verbs=["create", "patch"])]
    return rules


class EndpointPicker(Construct):
    def __init__(self, scope: Construct, id_: str, model: Model, env: Environment) -> None:
        super().__init__(scope, id_)
        name, ns = model.epp_name, model.namespace
        obj_labels = labels(name, "endpoint-picker", model.name)
        k8s.KubeServiceAccount(self, "sa", metadata=meta(name, ns, obj_labels),
                               automount_service_account_token=True)
        profile = env.profile
        k8s.KubeRole(self, "role", metadata=meta(name, ns, obj_labels), rules=rbac_rules(model, profile))
        k8s.KubeRoleBinding(self, "rb", metadata=meta(name, ns, obj_labels),
                            role_ref=k8s.RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                                 name=name),
                            subjects=[k8s.Subject(kind="ServiceAccount", name=name, namespace=ns)])
        k8s.KubeService(self, "svc", metadata=meta(name, ns, obj_labels), spec=k8s.ServiceSpec(
            type="ClusterIP", selector=model.epp_labels, ports=[
                k8s.ServicePort(name="grpc", port=GRPC_PORT, protocol="TCP", app_protocol="http2",
                                target_port=k8s.IntOrString.from_number(GRPC_PORT)),
                k8s.ServicePort(name="grpc-health", port=HEALTH_PORT,
                                target_port=k8s.IntOrString.from_number(HEALTH_PORT), protocol="TCP"),
                k8s.ServicePort(name="metrics", port=METRICS_PORT,
                                target_port=k8s.IntOrString.from_number(METRICS_PORT), protocol="TCP"),
            ]))
        mounts, volumes = [], []
        if model.epp.secure_serving:
            secret = f"{name}-tls"
            issuer = env.pki.issuer  # the internal CA, which the gateway trusts (mounted at CA_FILE)
            Certificate(self, f"{name}-tls", namespace=ns, labels=obj_labels, spec={
                "secretName": secret, "commonName": fqdn(name, ns),
                "dnsNames": [fqdn(name, ns), f"{name}.{ns}.svc", f"{name}.{ns}", name],
                "duration": "2160h", "renewBefore": "360h",
                "usages": ["digital signature", "key encipherment", "server auth"],
                "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": "cert-manager.io"}})
            volumes.append(k8s.Volume(name="tls-certs", secret=k8s.SecretVolumeSource(secret_name=secret)))
            mounts.append(k8s.VolumeMount(name="tls-certs", mount_path=CERT_DIR, read_only=True))
            dr: DestinationRuleSpec = {"host": fqdn(name, ns), "trafficPolicy": {"tls": {
                "mode": "SIMPLE", "caCertificates": CA_FILE, "sni": fqdn(name, ns)}}}
            DestinationRule(self, name, namespace=ns, labels=obj_labels, spec=dr)
        requests = {k: k8s.Quantity.from_string(v) for k, v in sorted(model.epp.requests.items())}
        elected = leader_election(model)
        container = k8s.Container(
            name="epp", image=model.epp.image, args=[*epp_args(model, profile), *metrics_auth_args(env)],
            ports=[k8s.ContainerPort(name="grpc", container_port=GRPC_PORT, protocol="TCP"),
                   k8s.ContainerPort(name="grpc-health", container_port=HEALTH_PORT, protocol="TCP"),
                   k8s.ContainerPort(name="metrics", container_port=METRICS_PORT, protocol="TCP")],
            resources=k8s.ResourceRequirements(requests=requests),
            liveness_probe=_grpc_probe(5, LIVENESS_SERVICE if elected else EXT_PROC_SERVICE),
            readiness_probe=_grpc_probe(30, READINESS_SERVICE if elected else EXT_PROC_SERVICE),
            security_context=k8s.SecurityContext(
                allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
                capabilities=k8s.Capabilities(drop=["ALL"]),
                seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault")),
            volume_mounts=mounts or None)
        replicas = model.epp.replicas
        spread = [k8s.TopologySpreadConstraint(  # one node's loss must not take every picker
            max_skew=1, topology_key=HOSTNAME_TOPOLOGY, when_unsatisfiable="DoNotSchedule",
            label_selector=k8s.LabelSelector(match_labels=model.epp_labels))] if replicas > 1 else None
        # a standby never becomes Ready, so a rolling update would wait on it forever: replace at once
        strategy = k8s.DeploymentStrategy(type="Recreate") if leader_election(model) else None
        k8s.KubeDeployment(self, "deploy", metadata=meta(name, ns, obj_labels), spec=k8s.DeploymentSpec(
            replicas=replicas, selector=k8s.LabelSelector(match_labels=model.epp_labels), strategy=strategy,
            template=k8s.PodTemplateSpec(
                metadata=k8s.ObjectMeta(labels=model.epp_labels),
                spec=k8s.PodSpec(service_account_name=name, containers=[container], volumes=volumes or None,
                                 termination_grace_period_seconds=30, topology_spread_constraints=spread))))
        if replicas > 1 and not leader_election(model):
            # voluntary disruptions (node drains, upgrades) take at most one picker at a time
            k8s.KubePodDisruptionBudget(self, "pdb", metadata=meta(name, ns, obj_labels),
                                        spec=k8s.PodDisruptionBudgetSpec(
                                            max_unavailable=k8s.IntOrString.from_number(1),
                                            selector=k8s.LabelSelector(match_labels=model.epp_labels)))
