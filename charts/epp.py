"""The endpoint picker (EPP) of one InferencePool, for router mode `explicit`.

Same flags, ports and hardening as the controller's scheduler preset, with the
scorer weights from the environment, its own least-privilege RBAC, a cert-manager certificate when it
serves TLS, and the DestinationRule that lets the Istio gateway reach it over that TLS.
"""

from __future__ import annotations

import yaml
from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import fqdn, labels, meta
from infergate.charts.gateway import CA_FILE
from infergate.charts.resources import Certificate, DestinationRule, DestinationRuleSpec

from infergate.synth.config import Environment, Model

GRPC_PORT, HEALTH_PORT, METRICS_PORT = 9002, 9003, 9090
POOL_GROUP = "inference.networking.x-k8s.io"
CERT_DIR = "/var/run/kserve/tls"
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"


def picker_config(model: Model) -> str:
    """EndpointPickerConfig: the scorers and their weights (the CRD has no field for them)."""
    scorers = list(model.epp.scorer_weights)
    doc = {
        "apiVersion": "inference.networking.x-k8s.io/v1alpha1",
        "kind": "EndpointPickerConfig",
        "plugins": [{"type": "single-profile-handler"}, *({"type": s} for s in scorers),
                    {"type": "max-score-picker"}],
        "schedulingProfiles": [{"name": "default", "plugins": [
            *({"pluginRef": s, "weight": w} for s, w in model.epp.scorer_weights.items()),
            {"pluginRef": "max-score-picker"}]}],
    }
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def epp_args(model: Model) -> list[str]:
    args = ["--pool-name", model.pool_name, "--pool-namespace", model.namespace, "--pool-group", POOL_GROUP,
            "--zap-encoder", "json", "--grpc-port", str(GRPC_PORT), "--grpc-health-port", str(HEALTH_PORT)]
    if model.epp.secure_serving:
        args += ["--secure-serving", "--cert-path", CERT_DIR]
    else:
        args.append("--secure-serving=false")
    # the EPP scrapes vLLM's /metrics with the scheme vLLM serves
    args += ["--model-server-metrics-scheme", "https" if model.vllm.tls else "http",
             "--config-text", picker_config(model)]
    return args


def _grpc_probe(initial: int) -> k8s.Probe:
    return k8s.Probe(grpc=k8s.GrpcAction(port=HEALTH_PORT, service=EXT_PROC_SERVICE),
                     initial_delay_seconds=initial, period_seconds=10, timeout_seconds=1, failure_threshold=3)


class EndpointPicker(Construct):
    def __init__(self, scope: Construct, id_: str, model: Model, env: Environment) -> None:
        super().__init__(scope, id_)
        name, ns = model.epp_name, model.namespace
        obj_labels = labels(name, "endpoint-picker", model.name)
        k8s.KubeServiceAccount(self, "sa", metadata=meta(name, ns, obj_labels),
                               automount_service_account_token=True)
        k8s.KubeRole(self, "role", metadata=meta(name, ns, obj_labels), rules=[
            k8s.PolicyRule(api_groups=[""], resources=["pods"], verbs=["get", "list", "watch"]),
            k8s.PolicyRule(api_groups=[POOL_GROUP],
                           resources=["inferencemodels", "inferenceobjectives", "inferencepools"],
                           verbs=["get", "list", "watch"]),
            k8s.PolicyRule(api_groups=["inference.networking.k8s.io"], resources=["inferencepools"],
                           verbs=["get", "list", "watch"]),
            k8s.PolicyRule(api_groups=["discovery.k8s.io"], resources=["endpointslices"],
                           verbs=["get", "list", "watch"]),
        ])
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
            issuer = env.gateway.tls.issuer  # the CA the gateway trusts (mounted at CA_FILE)
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
        container = k8s.Container(
            name="epp", image=model.epp.image, args=epp_args(model),
            ports=[k8s.ContainerPort(name="grpc", container_port=GRPC_PORT, protocol="TCP"),
                   k8s.ContainerPort(name="grpc-health", container_port=HEALTH_PORT, protocol="TCP"),
                   k8s.ContainerPort(name="metrics", container_port=METRICS_PORT, protocol="TCP")],
            resources=k8s.ResourceRequirements(requests=requests),
            liveness_probe=_grpc_probe(5), readiness_probe=_grpc_probe(30),
            security_context=k8s.SecurityContext(
                allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
                capabilities=k8s.Capabilities(drop=["ALL"]),
                seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault")),
            volume_mounts=mounts or None)
        k8s.KubeDeployment(self, "deploy", metadata=meta(name, ns, obj_labels), spec=k8s.DeploymentSpec(
            replicas=1, selector=k8s.LabelSelector(match_labels=model.epp_labels),
            template=k8s.PodTemplateSpec(
                metadata=k8s.ObjectMeta(labels=model.epp_labels),
                spec=k8s.PodSpec(service_account_name=name, containers=[container], volumes=volumes or None,
                                 termination_grace_period_seconds=30))))
