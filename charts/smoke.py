"""The smoke test of one model, as an Argo CD PostSync hook of the model's Application.

The Job runs `infergate/serving/smoke.py` (shipped byte for byte in a ConfigMap) against the model's path
prefix on the gateway's in-cluster Service, over HTTPS verified against `ca.crt` of the gateway's own
certificate secret: the CA that issued the gateway's certificate, the same file the gateway pods mount.
That secret lives in the gateway namespace, so the Job runs there; its NetworkPolicies (charts/netpol.py)
admit DNS and the gateway's HTTPS listener, nothing else.
"""

from __future__ import annotations

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.checkjob import CheckJob, add_check_job, add_script_config_map
from infergate.charts.common import labels

from infergate.core.images import PYTHON_IMAGE
from infergate.netpol.cluster import SMOKE_POD_LABELS
from infergate.synth.config import Environment, Gateway, Model

COMPONENT = SMOKE_POD_LABELS["app.kubernetes.io/component"]
SCRIPT = "smoke.py"
CA_DIR = "/etc/infergate/gateway-ca"
HTTPS_PORT = 443
# vLLM is Ready before the PostSync hook starts (the LLMInferenceService health check), but the route, the
# picker's view of the pool and the gateway's xDS lag behind: ~2 min of retries (2, 4, 8, then 15 s).
RETRIES, BACKOFF, REQUEST_TIMEOUT = 10, 2, 60
DEADLINE_S = 900  # two pods' worth of retries and slow first answers, then the sync fails


def gateway_service_host(gw: Gateway) -> str:
    """Istio's deployment controller names the gateway's Service <gateway>-<gatewayClassName>."""
    return f"{gw.name}-{gw.class_name}.{gw.namespace}.svc.cluster.local"


def _covers(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return pattern == host


def server_name(gw: Gateway) -> str | None:
    """The name to verify the gateway's certificate as: None when it covers the Service name, else the first
    exact DNS name it carries (its common name when there is none)."""
    host = gateway_service_host(gw)
    if any(_covers(name, host) for name in gw.tls.dns_names):
        return None
    return next((n for n in gw.tls.dns_names if not n.startswith("*.")), gw.tls.common_name)


def publicly_trusted(gw: Gateway) -> bool:
    """An ACME listener certificate chains to a public root the image's trust store holds, and its secret
    has no ca.crt to mount (PKI803): the smoke test then verifies against the system store."""
    return gw.tls.issuer.acme


def smoke_args(model: Model, env: Environment) -> list[str]:
    gw = env.gateway
    args = ["--url", f"https://{gateway_service_host(gw)}{model.path_prefix.rstrip('/')}",
            "--model", model.served_name]
    if not publicly_trusted(gw):
        args += ["--ca-file", f"{CA_DIR}/ca.crt"]
    name = server_name(gw)
    if name:
        args += ["--server-name", name]
    return [*args, "--retries", str(RETRIES), "--backoff", str(BACKOFF), "--timeout", str(REQUEST_TIMEOUT)]


def smoke_name(model: Model) -> str:
    return f"{model.name}-smoke"


class SmokeTest(Construct):
    def __init__(self, scope: Construct, id_: str, model: Model, env: Environment) -> None:
        super().__init__(scope, id_)
        gw, name = env.gateway, smoke_name(model)
        lab = labels(name, COMPONENT, model.name)
        add_script_config_map(self, "script", name, gw.namespace, lab, SCRIPT, "serving/smoke.py")
        volumes, mounts = [], []
        if not publicly_trusted(gw):
            volumes.append(k8s.Volume(name="gateway-ca", secret=k8s.SecretVolumeSource(
                secret_name=gw.tls.secret_name, items=[k8s.KeyToPath(key="ca.crt", path="ca.crt")])))
            mounts.append(k8s.VolumeMount(name="gateway-ca", mount_path=CA_DIR, read_only=True))
        add_check_job(self, "job", CheckJob(
            name=name, namespace=gw.namespace, labels=lab, pod_labels=lab,
            image=env.smoke.image or PYTHON_IMAGE, script_config_map=name, script_key=SCRIPT,
            args=tuple(smoke_args(model, env)), deadline_s=DEADLINE_S), volumes=volumes, mounts=mounts)
