"""The KServe LLMInferenceService for one model on a single-host TPU slice or on GPUs of one node.

The controller merges `spec.template` over its `kserve-config-llm-template` preset (container `main`).
infergate states every field it depends on instead of inheriting it, so what the model server runs is
readable in dist/: the vLLM command line, accelerator scheduling and resources (all from the accelerator
table: google.com/tpu + TPU_*_BOUNDS for a TPU slice, nvidia.com/gpu and no TPU env for GPUs), probes
whose scheme follows vLLM's TLS mode (a startupProbe sized from the model, so loading and XLA compilation
never count against liveness), and the served model name clients send. The apiVersion and the fields
follow the environment's platform profile; where that profile's KServe signs vLLM's certificate itself
with a key of its own (upstream), the template mounts a certificate from the internal CA instead.
"""

from __future__ import annotations

import math
from typing import Any

from constructs import Construct
from infergate.charts.common import labels
from infergate.charts.resources import LLMInferenceService, LLMInferenceServiceSpec, ModelSpec, RouterSpec
from infergate.charts.worker import PipelineParallelConfig, add_worker, owns_pipeline_config

from infergate.synth import multihost, scaling
from infergate.synth.config import Environment, Model

MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts spec.model.uri
KSERVE_TLS_DIR = "/var/run/kserve/tls"  # the controller-issued certificate, mounted by the preset
TLS_VOLUME = "tls-certs"  # the preset's volume at KSERVE_TLS_DIR (a template volume of that name replaces it)
STARTUP_PERIOD_S = 10


def vllm_args(model: Model) -> list[str]:
    v = model.vllm
    args = [f"--model={MODEL_DIR}", f"--served-model-name={model.served_name}", f"--port={model.port}",
            f"--tensor-parallel-size={model.accelerator.tensor_parallel_size}"]
    if v.dtype:
        args.append(f"--dtype={v.dtype}")
    if v.max_model_len:
        args.append(f"--max-model-len={v.max_model_len}")
    if v.prefix_caching:
        args.append("--enable-prefix-caching")
    if v.tls:
        args += [f"--ssl-certfile={KSERVE_TLS_DIR}/tls.crt", f"--ssl-keyfile={KSERVE_TLS_DIR}/tls.key"]
    return args + list(v.extra_args)


def _probe(path: str, model: Model, initial: int, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": model.port, "scheme": "HTTPS" if model.vllm.tls else "HTTP"},
            "initialDelaySeconds": initial, "periodSeconds": period, "timeoutSeconds": timeout,
            "failureThreshold": failures}


def startup_probe(model: Model) -> dict[str, Any]:
    """/health until the model is loaded and compiled: vllm.startup_seconds, polled every 10 s."""
    return _probe("/health", model, 0, STARTUP_PERIOD_S, 10,
                  math.ceil(model.vllm.startup_seconds / STARTUP_PERIOD_S))


def main_container(model: Model) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in model.accelerator.env().items()]
    if model.hf_token_secret:
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": model.hf_token_secret, "key": model.hf_token_key}}})
    # GKE requires TPU requests == limits; Kubernetes requires it of every extended resource (nvidia.com/gpu)
    accel = model.accelerator.resources()
    container: dict[str, Any] = {
        "name": "main",
        "image": model.image,
        "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
        "args": vllm_args(model),
    }
    if env:  # a GPU model without an HF token has none (the device plugin exposes the GPUs)
        container["env"] = env
    return container | {
        "ports": [{"name": "https" if model.vllm.tls else "http", "containerPort": model.port,
                   "protocol": "TCP"}],
        "resources": {"requests": {**model.vllm.requests, **accel}, "limits": dict(accel)},
        # model loading and TPU compilation take minutes: the startupProbe holds the other two back
        "startupProbe": startup_probe(model),
        "livenessProbe": _probe("/health", model, 0, 30, 30, 5),
        "readinessProbe": _probe("/v1/models", model, 0, 10, 10, 3),
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": False,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
    }


def router(model: Model, env: Environment) -> RouterSpec:
    if model.router == "managed":
        # the controller creates HTTPRoute, InferencePool and EPP and attaches to its default gateway
        return {"route": {}, "gateway": {}, "scheduler": {}}
    gw = env.gateway
    return {"route": {"http": {"refs": [{"name": model.route_name}]}},
            "gateway": {"refs": [{"name": gw.name, "namespace": gw.namespace}]},
            "scheduler": {"pool": {"ref": {"name": model.pool_name}}}}


def issues_vllm_certificate(model: Model, env: Environment) -> bool:
    """infergate, not KServe, gives vLLM its certificate: the profile's KServe signs it with a key only it
    trusts (upstream's per-service self-signed certificate)."""
    return model.vllm.tls and env.profile.kserve.signing_ca is None


class ModelServer(Construct):
    def __init__(self, scope: Construct, id_: str, model: Model, env: Environment) -> None:
        super().__init__(scope, id_)
        template: dict[str, Any] = {
            "nodeSelector": model.accelerator.node_selector(),
            "tolerations": [model.accelerator.toleration_dict()],
            # pod-wide, so the containers KServe adds (the storage initializer) run unprivileged too
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [main_container(model)],
        }
        if model.image_pull_secrets:
            template["imagePullSecrets"] = [{"name": s} for s in model.image_pull_secrets]
        if issues_vllm_certificate(model, env):
            secret = {"secretName": model.vllm_certificate_name}
            template["volumes"] = [{"name": TLS_VOLUME, "secret": secret}]
        served: ModelSpec = {"uri": model.uri, "name": model.served_name}
        if env.profile.kserve.model_criticality:
            served["criticality"] = model.criticality
        spec: LLMInferenceServiceSpec = {
            "model": served,
            "replicas": model.replicas,
            "router": router(model, env),
            "template": template,
        }
        if multihost.multi_host(model):  # one pod per host of the slice: KServe's LeaderWorkerSet
            add_worker(spec, model)
            if owns_pipeline_config(model, env):
                PipelineParallelConfig(self, "pipeline-config", model, env)
        if model.autoscaling:  # KServe's CEL rule: spec.scaling or spec.replicas, never both
            del spec["replicas"]
            spec["scaling"] = model.autoscaling.spec()
            spec["labels"] = scaling.workload_labels(model.accelerator.accelerator)
        LLMInferenceService(self, model.name, namespace=model.namespace,
                            labels=labels(model.name, "model-server", "infergate"), spec=spec,
                            api_version=env.profile.kserve.llmisvc_api_version)
