"""The multi-host part of a model's LLMInferenceService: `spec.worker`, `spec.parallelism`, the leader.

KServe turns `template` (leader) and `worker` into a LeaderWorkerSet of `hosts` pods, one per host of the
TPU slice (facts and sources: infergate/synth/multihost.py). Every host gets the same scheduling and
resources (one host's chips, requests = limits), the slice's TPU_*_BOUNDS and TPU_PROCESS_PORT; LWS adds
each host's TPU_WORKER_ID / TPU_WORKER_HOSTNAMES when it creates the pod. The leader runs the Ray head and
vLLM's API server (tensor parallel over one host's chips, pipeline parallel over the hosts); workers join
its Ray cluster. Because KServe skips `kserve-config-llm-template` for a multi-node service, the leader
mounts the serving certificate itself, and the namespace gets the `kserve-config-llm-worker-pipeline-parallel`
config the controller looks up (an empty overlay: everything the pods need is in the service).
"""

from __future__ import annotations

import copy
import math
from typing import Any

from constructs import Construct
from infergate.charts.common import labels
from infergate.charts.resources import CustomResource, LLMInferenceServiceSpec

from infergate.synth import multihost
from infergate.synth.config import Environment, Model

DSHM_VOLUME = "dshm"
DSHM_SIZE = "16Gi"  # Ray's object store lives in /dev/shm; a container's default 64Mi makes it spill to disk


class LLMInferenceServiceConfig(CustomResource):
    API_VERSION, KIND = "serving.kserve.io/v1alpha1", "LLMInferenceServiceConfig"


def _shm(spec: dict[str, Any], container: dict[str, Any]) -> None:
    spec.setdefault("volumes", []).append({"name": DSHM_VOLUME, "emptyDir": {"medium": "Memory",
                                                                           "sizeLimit": DSHM_SIZE}})
    container.setdefault("volumeMounts", []).append({"name": DSHM_VOLUME, "mountPath": "/dev/shm"})


def _runtime(container: dict[str, Any], model: Model, script: str, leader: bool) -> None:
    """Replace the command line by the Ray launcher, add the group ports and the per-host env."""
    tpu = model.accelerator
    container["command"] = ["/bin/bash", "-c"]
    container["args"] = [script]
    bounds = {e["name"] for e in multihost.runtime_env(tpu)}
    rest = [e for e in container["env"] if e["name"] not in bounds]
    container["env"] = [*multihost.runtime_env(tpu), *rest]
    container["ports"] = [*(container["ports"] if leader else []), *multihost.container_ports(leader)]


def leader_template(template: dict[str, Any], model: Model) -> None:
    """Turn the single-host template (built by llmisvc.ModelServer) into the leader's, in place."""
    main = template["containers"][0]
    vllm = [*main["command"], *main["args"], *multihost.vllm_flags(model.accelerator)]
    _runtime(main, model, multihost.leader_script(vllm), leader=True)
    # the leader waits up to JOIN_TIMEOUT_S for every host before vLLM starts loading: startup time, too
    probe = main["startupProbe"]
    probe["failureThreshold"] += math.ceil(multihost.JOIN_TIMEOUT_S / probe["periodSeconds"])
    if model.vllm.tls:
        # no preset mounts KServe's certificate on a multi-node leader: state the mount (and, unless infergate
        # issues the certificate, KServe's own secret by the name its presets give it)
        main.setdefault("volumeMounts", []).append({"name": multihost.TLS_VOLUME, "readOnly": True,
                                                    "mountPath": multihost.KSERVE_TLS_DIR})
        if not any(v["name"] == multihost.TLS_VOLUME for v in template.get("volumes", [])):
            template.setdefault("volumes", []).append(
                {"name": multihost.TLS_VOLUME, "secret": {"secretName": multihost.KSERVE_TLS_SECRET}})
    _shm(template, main)


def worker_spec(template: dict[str, Any], model: Model) -> dict[str, Any]:
    """spec.worker: the leader's pod without the API server (no serving port, no probes, no certificate)."""
    worker = {k: copy.deepcopy(v) for k, v in template.items() if k not in ("containers", "volumes")}
    main = copy.deepcopy(template["containers"][0])
    for key in ("startupProbe", "livenessProbe", "readinessProbe", "volumeMounts"):
        main.pop(key, None)
    main["ports"] = []
    _runtime(main, model, multihost.worker_script(), leader=False)
    worker["containers"] = [main]
    _shm(worker, main)
    return worker


def add_worker(spec: LLMInferenceServiceSpec, model: Model) -> None:
    """Make ``spec`` (an LLMInferenceService spec with its single-host template) multi-host, in place."""
    leader_template(spec["template"], model)
    spec["worker"] = worker_spec(spec["template"], model)
    spec["parallelism"] = multihost.parallelism(model.accelerator)


def owns_pipeline_config(model: Model, env: Environment) -> bool:
    """The first multi-host model of a namespace carries the namespace's pipeline-parallel config."""
    first = next(m for m in env.models if m.namespace == model.namespace and multihost.multi_host(m))
    return first is model


class PipelineParallelConfig(Construct):
    """``kserve-config-llm-worker-pipeline-parallel`` in the model namespace (looked up there first)."""

    def __init__(self, scope: Construct, id_: str, model: Model, env: Environment) -> None:
        super().__init__(scope, id_)
        LLMInferenceServiceConfig(self, multihost.PIPELINE_CONFIG, namespace=model.namespace,
                                  labels=labels(multihost.PIPELINE_CONFIG, "model-server", "infergate"),
                                  spec={}, api_version=env.profile.kserve.llmisvc_api_version)
