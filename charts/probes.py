"""dist/<env>/probes/: the isolation probes of the security model (probes: {enabled: true}; default off).

Each probe of infergate.netpol.probeplan becomes a Job, an Argo CD PostSync hook of this folder's own
Application at wave 3: after the models (wave 2) are healthy, so every Service a probe aims at has ready
endpoints, and apart from the models' Applications, so a probe that finds a hole fails this Application's
sync (`argocd app sync <env>-probes` reruns them on demand) without marking a model unhealthy. Off by
default: the probe pods wear the gateway's, the pickers' and vLLM's labels for a few seconds (never Ready,
so no Service routes to them), which an operator should choose to allow.
"""

from __future__ import annotations

from constructs import Construct
from infergate.charts.checkjob import CheckJob, add_check_job, add_script_config_map
from infergate.charts.common import Chart, labels

from infergate.core.graph import PROBE_LABEL
from infergate.core.images import PYTHON_IMAGE
from infergate.netpol.probeplan import Probe, plan, probe_namespaces
from infergate.netpol.security_model import security_model
from infergate.synth.config import Environment

COMPONENT = "isolation-probe"
SCRIPT = "tcpprobe.py"
CONFIG_MAP = "infergate-tcpprobe"  # -<namespace>: one file per object in dist/, so one name per namespace
CONNECT_TIMEOUT_S, ATTEMPTS = 5, 3


def probe_args(probe: Probe) -> list[str]:
    args: list[str] = []
    for target in probe.targets:
        args += ["--check", probe.flow, target.host, str(target.port), probe.expect]
    return [*args, "--timeout", str(CONNECT_TIMEOUT_S), "--attempts", str(ATTEMPTS)]


def deadline(probe: Probe) -> int:
    """Every check's attempts at full timeout and pause, plus a minute to pull the image and start."""
    per_check = ATTEMPTS * (CONNECT_TIMEOUT_S + 2) if probe.expect == "connect" else CONNECT_TIMEOUT_S
    return 60 + per_check * len(probe.targets)


class ProbesChart(Chart):
    WAVE = 3  # after the models: the probes aim at their Services

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=env.gateway.namespace)
        probes = plan(env, security_model())
        lab = labels(CONFIG_MAP, COMPONENT, "infergate")
        for ns in probe_namespaces(probes):
            add_script_config_map(self, f"script-{ns}", f"{CONFIG_MAP}-{ns}", ns, lab, SCRIPT,
                                  "netpol/tcpprobe.py")
        image = env.probes.image or PYTHON_IMAGE
        for probe in probes:
            namespace = probe.source.namespace or env.gateway.namespace  # (sources are always pods)
            job_labels = labels(probe.name, COMPONENT, "infergate", **{PROBE_LABEL: probe.flow})
            add_check_job(self, probe.name, CheckJob(
                name=probe.name, namespace=namespace, labels=job_labels,
                # the source's labels make the policies treat the pod as that role; PROBE_LABEL keeps lint
                # and flows from counting it as one
                pod_labels={**probe.source.labels, PROBE_LABEL: probe.flow},
                image=image, script_config_map=f"{CONFIG_MAP}-{namespace}", script_key=SCRIPT,
                args=tuple(probe_args(probe)),
                deadline_s=deadline(probe), backoff_limit=0, never_ready=True))
