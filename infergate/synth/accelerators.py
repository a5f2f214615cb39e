"""The GKE accelerator table (data/accelerators.yaml): accelerator x shape -> chips, hosts, scheduling.

Everything accelerator-shaped that infergate emits (google.com/tpu or nvidia.com/gpu requests = limits,
--tensor-parallel-size, TPU_CHIPS_PER_HOST_BOUNDS / TPU_HOST_BOUNDS, nodeSelector, toleration) comes from
here, so the values can never disagree with each other. A TPU model is a ``TpuSlice`` (accelerator x
topology), a GPU model a ``GpuShape`` (accelerator x GPU count, on a machine type); both offer the
interface the charts use (``family``, ``env()``, ``node_selector()``, ``toleration_dict()``,
``resources()``, ``tensor_parallel_size``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "accelerators.yaml"
ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
RESOURCE = "google.com/tpu"
GPU_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
GPU_RESOURCE = "nvidia.com/gpu"
# Set on every node from its Compute Engine machine type; the GPU count of a node follows from it.
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


class UnknownTpu(LookupError):
    """The accelerator or topology is not in the table (the caller turns it into a ConfigError)."""


class UnknownGpu(LookupError):
    """The GPU accelerator, machine type or count does not exist (the caller turns it into a ConfigError)."""


@dataclass(frozen=True, slots=True)
class TpuSlice:
    accelerator: str
    topology: str
    generation: str
    machine_type: str
    chips_per_host_bounds: tuple[int, int, int]
    host_bounds: tuple[int, int, int]
    toleration: tuple[tuple[str, str], ...]  # sorted (key, value) pairs of the taint toleration

    @property
    def family(self) -> str:
        return "tpu"

    @property
    def chips_per_host(self) -> int:
        return math.prod(self.chips_per_host_bounds)

    @property
    def hosts(self) -> int:
        return math.prod(self.host_bounds)

    @property
    def chips(self) -> int:
        return self.chips_per_host * self.hosts

    @property
    def single_host(self) -> bool:
        return self.hosts == 1

    @property
    def tensor_parallel_size(self) -> int:
        # vLLM shards a single-host model over every chip of the host
        return self.chips_per_host

    def env(self) -> dict[str, str]:
        return {
            "TPU_CHIPS_PER_HOST_BOUNDS": ",".join(map(str, self.chips_per_host_bounds)),
            "TPU_HOST_BOUNDS": ",".join(map(str, self.host_bounds)),
            "PJRT_DEVICE": "TPU",
        }

    def node_selector(self) -> dict[str, str]:
        return {ACCELERATOR_LABEL: self.accelerator, TOPOLOGY_LABEL: self.topology}

    def toleration_dict(self) -> dict[str, str]:
        return dict(self.toleration)

    def resources(self) -> dict[str, str]:
        return {RESOURCE: str(self.chips_per_host)}


@dataclass(frozen=True, slots=True)
class GpuShape:
    """``count`` GPUs of one node of ``machine_type`` (GKE GPU node pools are one machine type each).

    ``pinned``: the environment named the machine type, so the pod selects it by
    node.kubernetes.io/instance-type; otherwise any node with the accelerator and enough free GPUs will do
    and ``machine_type`` is only the smallest shape that holds ``count`` (what a node pool needs at least).
    """

    accelerator: str
    count: int
    machine_type: str
    gpus_per_node: int
    memory_gb: float  # per GPU
    pinned: bool
    toleration: tuple[tuple[str, str], ...]

    @property
    def family(self) -> str:
        return "gpu"

    @property
    def hosts(self) -> int:
        return 1

    @property
    def single_host(self) -> bool:
        return True

    @property
    def chips(self) -> int:
        return self.count

    @property
    def chips_per_host(self) -> int:
        return self.count

    @property
    def tensor_parallel_size(self) -> int:
        # vLLM shards the model over every GPU the pod gets (one node: NVLink/PCIe, no pipeline stages)
        return self.count

    @property
    def memory_total_gb(self) -> float:
        return self.count * self.memory_gb

    def env(self) -> dict[str, str]:
        return {}  # the NVIDIA device plugin sets NVIDIA_VISIBLE_DEVICES itself

    def node_selector(self) -> dict[str, str]:
        selector = {GPU_ACCELERATOR_LABEL: self.accelerator}
        if self.pinned:
            selector[INSTANCE_TYPE_LABEL] = self.machine_type
        return selector

    def toleration_dict(self) -> dict[str, str]:
        return dict(self.toleration)

    def resources(self) -> dict[str, str]:
        return {GPU_RESOURCE: str(self.count)}


Accelerator = TpuSlice | GpuShape

# How infergate tells which family a vLLM image is built for: by the words of its repository name.
IMAGE_FAMILY_RULE = "its repository name has the word 'tpu'; 'cuda', 'gpu' or 'openai' mean GPU"
_IMAGE_WORDS = {"tpu": "tpu", "cuda": "gpu", "gpu": "gpu", "openai": "gpu"}


def image_family(image: str) -> str | None:
    """"tpu" / "gpu" when the image's repository name says which vLLM build it is (vllm/vllm-tpu,
    rhaiis/vllm-tpu-rhel9; vllm/vllm-openai, rhaiis/vllm-cuda-rhel9), None when it does not say."""
    repository = image.split("@", 1)[0]
    if ":" in repository.rpartition("/")[2]:
        repository = repository.rsplit(":", 1)[0]  # the tag; a registry port sits before the last /
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        repository = rest  # a registry host names no build
    words = re.split(r"[^a-z0-9]+", repository.lower())
    found = {_IMAGE_WORDS[w] for w in words if w in _IMAGE_WORDS}
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    with TABLE_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def family(accelerator: str) -> str | None:
    """"tpu", "gpu", or None for a name the table does not know."""
    entry = table()["accelerators"].get(accelerator)
    return entry["family"] if entry else None


def accelerators(kind: str | None = None) -> list[str]:
    """Every accelerator of the table, or those of one family."""
    return sorted(name for name, entry in table()["accelerators"].items()
                  if kind is None or entry["family"] == kind)


def topologies(accelerator: str) -> list[str]:
    entry = table()["accelerators"].get(accelerator)
    return sorted(entry.get("topologies", {})) if entry else []


def machine_types(accelerator: str) -> dict[str, int]:
    """Machine type -> GPUs per node of a GPU accelerator, smallest first (empty for others)."""
    entry = table()["accelerators"].get(accelerator)
    return dict(entry.get("machineTypes", {})) if entry else {}


def gpu_accelerator_of(machine_type: str) -> str | None:
    """The GPU accelerator a machine type carries (machine types are unique across the table)."""
    return next((name for name in accelerators("gpu") if machine_type in machine_types(name)), None)


def max_gpus_per_node(accelerator: str) -> int:
    return max(machine_types(accelerator).values(), default=0)


def lookup_gpu(accelerator: str, count: int, machine_type: str | None = None) -> GpuShape:
    """``count`` GPUs of ``accelerator`` on one node: of ``machine_type`` if given (pinned), else on the
    smallest machine type that has that many."""
    data = table()
    entry = data["accelerators"].get(accelerator)
    if entry is None or entry["family"] != "gpu":
        raise UnknownGpu(f"unknown GPU accelerator {accelerator!r}; known: {', '.join(accelerators('gpu'))}")
    shapes: dict[str, int] = entry["machineTypes"]
    pinned = machine_type is not None
    if machine_type is not None:
        gpus = shapes.get(machine_type)
        if gpus is None:
            raise UnknownGpu(f"machine type {machine_type!r} has no {accelerator} GPUs; {accelerator} comes "
                             f"on {', '.join(shapes)}")
        if count > gpus:
            raise UnknownGpu(f"{count} GPUs do not fit on one {machine_type} node ({gpus} x {accelerator})")
    else:
        fitting = [name for name, gpus in shapes.items() if gpus >= count]
        if not fitting:
            raise UnknownGpu(f"{count} GPUs do not fit on one {accelerator} node (at most "
                             f"{max(shapes.values())}, on {max(shapes, key=lambda n: shapes[n])})")
        machine_type = min(fitting, key=lambda n: shapes[n])  # first of the smallest (table order)
    return GpuShape(accelerator=accelerator, count=count, machine_type=machine_type,
                    gpus_per_node=shapes[machine_type], memory_gb=float(entry["memoryGB"]),
                    pinned=pinned,
                    toleration=tuple(sorted(data["families"]["gpu"]["toleration"].items())))


def lookup(accelerator: str, topology: str) -> TpuSlice:
    data = table()
    entry = data["accelerators"].get(accelerator)
    if entry is None or entry["family"] != "tpu":
        raise UnknownTpu(f"unknown TPU accelerator {accelerator!r}; known: {', '.join(accelerators('tpu'))}")
    row = entry["topologies"].get(topology)
    if row is None:
        raise UnknownTpu(f"unknown topology {topology!r} for {accelerator}; known: "
                         f"{', '.join(topologies(accelerator))}")
    chips, hosts = row["chipsPerHostBounds"], row["hostBounds"]
    return TpuSlice(accelerator=accelerator, topology=topology, generation=entry["generation"],
                    machine_type=row["machineType"], chips_per_host_bounds=(chips[0], chips[1], chips[2]),
                    host_bounds=(hosts[0], hosts[1], hosts[2]),
                    toleration=tuple(sorted(data["families"]["tpu"]["toleration"].items())))
