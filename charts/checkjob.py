"""A hardened Job that runs one of infergate's stdlib-only check scripts as an Argo CD PostSync hook.

The script itself travels in a ConfigMap (read from the installed package, byte for byte), so the image is a
plain Python image: nothing of infergate has to be built or pulled. The smoke test (charts/smoke.py) and the
isolation probes (charts/probes.py) share this.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from cdk8s_plus_33 import k8s
from constructs import Construct
from infergate.charts.common import meta

# Argo CD runs the Job after every sync of its Application, once all its resources are healthy; a failed Job
# fails the sync and stays for `kubectl logs`, a passed one is deleted (and the next sync recreates it).
HOOK_ANNOTATIONS = {"argocd.argoproj.io/hook": "PostSync",
                    "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation,HookSucceeded"}
SCRIPT_DIR = "/opt/infergate"
NON_ROOT = 65532  # the python image's default user is root: runAsNonRoot needs a numeric non-root user


@cache  # one jsii round trip per value and synth, not four per model (bench/synth.py)
def _quantity(value: str) -> k8s.Quantity:
    return k8s.Quantity.from_string(value)


def package_script(name: str) -> str:
    """The text of ``infergate/<name>`` as installed (e.g. ``serving/smoke.py``)."""
    package, _, file = name.rpartition("/")
    module = f"infergate.{package.replace('/', '.')}"
    return resources.files(module).joinpath(file).read_text(encoding="utf-8")


@dataclass(frozen=True)
class CheckJob:
    name: str
    namespace: str
    labels: dict[str, str]  # of the Job
    pod_labels: dict[str, str]
    image: str
    script_config_map: str  # holds the script under ``script_key``
    script_key: str
    args: tuple[str, ...]  # after `python <script>`
    deadline_s: int  # activeDeadlineSeconds: the whole Job, retries included
    backoff_limit: int = 1
    never_ready: bool = False  # a pod wearing a Service's selector labels must never receive its traffic


def add_check_job(scope: Construct, id_: str, job: CheckJob, volumes: list[k8s.Volume] | None = None,
                  mounts: list[k8s.VolumeMount] | None = None) -> k8s.KubeJob:
    script = k8s.Volume(name="script", config_map=k8s.ConfigMapVolumeSource(
        name=job.script_config_map, items=[k8s.KeyToPath(key=job.script_key, path=job.script_key)]))
    script_mount = k8s.VolumeMount(name="script", mount_path=SCRIPT_DIR, read_only=True)
    # Services route only to Ready pods: a probe that wears gateway or vLLM labels stays out of them
    never_ready = k8s.Probe(**{"exec": k8s.ExecAction(command=["false"])}, period_seconds=30) \
        if job.never_ready else None
    container = k8s.Container(
        name="check", image=job.image,
        command=["python", f"{SCRIPT_DIR}/{job.script_key}", *job.args],
        env=[k8s.EnvVar(name="PYTHONDONTWRITEBYTECODE", value="1")],
        resources=k8s.ResourceRequirements(
            requests={"cpu": _quantity("50m"), "memory": _quantity("64Mi")},
            limits={"cpu": _quantity("500m"), "memory": _quantity("128Mi")}),
        security_context=k8s.SecurityContext(
            allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
            run_as_user=NON_ROOT, run_as_group=NON_ROOT, capabilities=k8s.Capabilities(drop=["ALL"]),
            seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault")),
        readiness_probe=never_ready,
        # the script's last line (the one-line reason) becomes the pod's termination message
        termination_message_policy="FallbackToLogsOnError",
        volume_mounts=[script_mount, *(mounts or [])])
    pod = k8s.PodSpec(
        restart_policy="Never", automount_service_account_token=False, enable_service_links=False,
        security_context=k8s.PodSecurityContext(run_as_non_root=True, run_as_user=NON_ROOT,
                                                run_as_group=NON_ROOT,
                                                seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault")),
        containers=[container], volumes=[script, *(volumes or [])])
    spec = k8s.JobSpec(active_deadline_seconds=job.deadline_s, backoff_limit=job.backoff_limit,
                       template=k8s.PodTemplateSpec(metadata=k8s.ObjectMeta(labels=job.pod_labels), spec=pod))
    return k8s.KubeJob(scope, id_, metadata=meta(job.name, job.namespace, job.labels, HOOK_ANNOTATIONS),
                       spec=spec)


def add_script_config_map(scope: Construct, id_: str, name: str, namespace: str, labels: dict[str, str],
                          key: str, package_file: str) -> None:
    k8s.KubeConfigMap(scope, id_, metadata=meta(name, namespace, labels),
                      data={key: package_script(package_file)})
