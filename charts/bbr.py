"""GIE's Body-Based Router (BBR) in the gateway namespace, for `gateway.sharedPath`.

The router reads the OpenAI request body and copies its `model` field into the `X-Gateway-Model-Name`
header; the gateway clears its route cache after the call, so each model's HTTPRoute can match that
header on a path several models share. Istio puts it in the request path with an EnvoyFilter that
inserts an ext_proc filter first in the gateway's HTTP chain (the way upstream's body-based-routing chart
does for Istio), targeted at this Gateway only. The router serves gRPC over TLS with a self-signed
certificate it makes at start (it has no flag for a mounted one), so the DestinationRule encrypts without
verifying; the gateway namespace's NetworkPolicies admit only the gateway's pods to its port.
Only the body-field-to-header plugin runs: the base-model plugin would watch ConfigMaps (LoRA adapters),
which this stack does not use, so the router gets no RBAC.
"""

from __future__ import annotations

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import fqdn, labels, meta
from infergate.charts.resources import DestinationRule, EnvoyFilter

from infergate.synth.config import Environment

BBR_GRPC_PORT, BBR_HEALTH_PORT, BBR_METRICS_PORT = 9004, 9005, 9090
MODEL_HEADER = "X-Gateway-Model-Name"
EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
EXT_PROC_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"
PLUGIN = f'{{"fieldName":"model","headerName":"{MODEL_HEADER}"}}'


def bbr_args() -> list[str]:
    return ["--streaming", f"--grpc-port={BBR_GRPC_PORT}", f"--grpc-health-port={BBR_HEALTH_PORT}",
            f"--metrics-port={BBR_METRICS_PORT}", "--tracing=false", "--enable-pprof=false",
            "--plugin", f"body-field-to-header:model-extractor:{PLUGIN}", "--v=2"]


class BodyBasedRouter(Construct):
    def __init__(self, scope: Construct, id_: str, env: Environment) -> None:
        super().__init__(scope, id_)
        gw = env.gateway
        assert gw.bbr_image, "BodyBasedRouter needs gateway.sharedPath on a profile with a bodyBasedRouter"
        name, ns, pod_labels = gw.bbr_name, gw.namespace, gw.bbr_pod_labels
        lab = labels(name, "body-based-router", "infergate")
        # the controller-runtime manager inside reads its in-cluster config at start: the token is needed,
        # no Role is (no plugin here watches anything)
        k8s.KubeServiceAccount(self, "sa", metadata=meta(name, ns, lab), automount_service_account_token=True)
        k8s.KubeService(self, "svc", metadata=meta(name, ns, lab), spec=k8s.ServiceSpec(
            type="ClusterIP", selector=pod_labels, ports=[
                k8s.ServicePort(name="grpc", port=BBR_GRPC_PORT, protocol="TCP", app_protocol="http2",
                                target_port=k8s.IntOrString.from_number(BBR_GRPC_PORT))]))
        probe = k8s.Probe(grpc=k8s.GrpcAction(port=BBR_HEALTH_PORT, service=EXT_PROC_SERVICE),
                          initial_delay_seconds=5, period_seconds=10)
        container = k8s.Container(
            name="bbr", image=gw.bbr_image, args=bbr_args(),
            ports=[k8s.ContainerPort(name="grpc", container_port=BBR_GRPC_PORT, protocol="TCP"),
                   k8s.ContainerPort(name="grpc-health", container_port=BBR_HEALTH_PORT, protocol="TCP"),
                   k8s.ContainerPort(name="metrics", container_port=BBR_METRICS_PORT, protocol="TCP")],
            resources=k8s.ResourceRequirements(requests={"cpu": k8s.Quantity.from_string("100m"),
                                                         "memory": k8s.Quantity.from_string("128Mi")}),
            liveness_probe=probe, readiness_probe=probe,
            security_context=k8s.SecurityContext(
                allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
                capabilities=k8s.Capabilities(drop=["ALL"]),
                seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault")))
        k8s.KubeDeployment(self, "deploy", metadata=meta(name, ns, lab), spec=k8s.DeploymentSpec(
            replicas=1, selector=k8s.LabelSelector(match_labels=pod_labels),
            template=k8s.PodTemplateSpec(
                metadata=k8s.ObjectMeta(labels=pod_labels),
                spec=k8s.PodSpec(service_account_name=name, containers=[container],
                                 termination_grace_period_seconds=30))))
        host = fqdn(name, ns)
        EnvoyFilter(self, name, namespace=ns, labels=lab, spec={
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gw.name}],
            "configPatches": [{
                "applyTo": "HTTP_FILTER",
                "match": {"context": "GATEWAY", "listener": {"filterChain": {"filter": {
                    "name": "envoy.filters.network.http_connection_manager"}}}},
                # first: the header must exist before the router (and the pools' EPP filter) picks a route
                "patch": {"operation": "INSERT_FIRST", "value": {
                    "name": "envoy.filters.http.ext_proc.bbr",
                    "typed_config": {
                        "@type": EXT_PROC_FILTER_TYPE,
                        "failure_mode_allow": False,  # no header, no model route: fail closed
                        "allow_mode_override": True,
                        "processing_mode": {
                            "request_header_mode": "SEND", "response_header_mode": "SEND",
                            "request_body_mode": "FULL_DUPLEX_STREAMED",
                            "response_body_mode": "FULL_DUPLEX_STREAMED",
                            "request_trailer_mode": "SEND", "response_trailer_mode": "SEND"},
                        "grpc_service": {"envoy_grpc": {
                            "cluster_name": f"outbound|{BBR_GRPC_PORT}||{host}"}}}}}}]})
        DestinationRule(self, name, namespace=ns, labels=lab, spec={
            "host": host, "trafficPolicy": {"tls": {"mode": "SIMPLE", "insecureSkipVerify": True}}})
