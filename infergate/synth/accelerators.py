"""The GKE accelerator table (data/accelerators.yaml): accelerator x shape -> chips, hosts, scheduling.

Everything TPU-shaped that infergate emits (google.com/tpu requests = limits, --tensor-parallel-size,
TPU_CHIPS_PER_HOST_BOUNDS / TPU_HOST_BOUNDS, nodeSelector, toleration) comes from here, so the values
can never disagree with each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "accelerators.yaml"
ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
RESOURCE = "google.com/tpu"


class UnknownTpu(LookupError):
    """The accelerator or topology is not in the table (the caller turns it into a ConfigError)."""


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


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    with TABLE_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def accelerators() -> list[str]:
    return sorted(table()["accelerators"])


def topologies(accelerator: str) -> list[str]:
    entry = table()["accelerators"].get(accelerator)
    return sorted(entry["topologies"]) if entry else []


def lookup(accelerator: str, topology: str) -> TpuSlice:
    data = table()
    entry = data["accelerators"].get(accelerator)
    if entry is None:
        raise UnknownTpu(f"unknown TPU accelerator {accelerator!r}; known: {', '.join(accelerators())}")
    row = entry["topologies"].get(topology)
    if row is None:
        raise UnknownTpu(f"unknown topology {topology!r} for {accelerator}; known: "
                         f"{', '.join(topologies(accelerator))}")
    chips, hosts = row["chipsPerHostBounds"], row["hostBounds"]
    return TpuSlice(accelerator=accelerator, topology=topology, generation=entry["generation"],
                    machine_type=row["machineType"], chips_per_host_bounds=(chips[0], chips[1], chips[2]),
                    host_bounds=(hosts[0], hosts[1], hosts[2]),
                    toleration=tuple(sorted(data["toleration"].items())))
