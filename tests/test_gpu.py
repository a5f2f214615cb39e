"""GPU models: the GPU half of the accelerator table, the environment's accelerator/count/image rules, the
model server's GPU scheduling, and GPU414 learning the parameter count from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infergate.lint import lint_paths
from infergate.lint.config import LintConfig
from infergate.synth import accelerators as acc
from infergate.synth.config import load_environment
from tests.conftest import FIXTURE_ENVS, make_project, run_infergate

PATTERN1 = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")
TPU_MODEL = ("    image: registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5\n"
             "    accelerator: tpu-v6e-slice\n    topology: 2x2\n")
GPU_MODEL = ("    image: registry.redhat.io/rhaiis/vllm-cuda-rhel9:3.2.5\n"
             "    accelerator: nvidia-l4\n    count: 1\n")


def _gpu_env(model: str = GPU_MODEL, top: str = "") -> str:
    assert TPU_MODEL in PATTERN1
    return PATTERN1.replace(TPU_MODEL, model).replace("models:\n", f"{top}models:\n", 1)


# --- the table -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("machine", "accelerator", "gpus"), [
    ("g2-standard-8", "nvidia-l4", 1), ("g2-standard-24", "nvidia-l4", 2), ("g2-standard-48", "nvidia-l4", 4),
    ("g2-standard-96", "nvidia-l4", 8), ("a2-highgpu-4g", "nvidia-tesla-a100", 4),
    ("a2-megagpu-16g", "nvidia-tesla-a100", 16), ("a2-ultragpu-8g", "nvidia-a100-80gb", 8),
    ("a3-highgpu-2g", "nvidia-h100-80gb", 2), ("a3-highgpu-8g", "nvidia-h100-80gb", 8),
    ("a3-megagpu-8g", "nvidia-h100-mega-80gb", 8), ("a3-ultragpu-8g", "nvidia-h200-141gb", 8),
])
def test_machine_types_carry_fixed_gpu_counts(machine: str, accelerator: str, gpus: int) -> None:
    assert acc.gpu_accelerator_of(machine) == accelerator
    assert acc.machine_types(accelerator)[machine] == gpus


def test_every_gpu_row_is_complete_and_machine_types_are_unique() -> None:
    seen: set[str] = set()
    for name in acc.accelerators("gpu"):
        entry = acc.table()["accelerators"][name]
        assert entry["memoryGB"] > 0 and entry["machineTypes"], name
        counts = list(entry["machineTypes"].values())
        assert counts == sorted(counts), f"{name}: machine types not smallest first"
        assert not seen & set(entry["machineTypes"]), name
        seen |= set(entry["machineTypes"])
    assert {"nvidia-l4", "nvidia-tesla-a100", "nvidia-a100-80gb", "nvidia-h100-80gb",
            "nvidia-h200-141gb"} <= set(acc.accelerators("gpu"))
    assert not set(acc.accelerators("gpu")) & set(acc.accelerators("tpu"))


def test_default_shape_is_the_smallest_that_holds_count_and_is_not_pinned() -> None:
    shape = acc.lookup_gpu("nvidia-l4", 3)
    assert (shape.machine_type, shape.gpus_per_node, shape.pinned) == ("g2-standard-48", 4, False)
    assert shape.node_selector() == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert shape.resources() == {"nvidia.com/gpu": "3"}
    assert (shape.family, shape.tensor_parallel_size, shape.env(), shape.single_host) == ("gpu", 3, {}, True)
    assert shape.toleration_dict() == {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                       "effect": "NoSchedule"}
    assert acc.lookup_gpu("nvidia-l4", 1).machine_type == "g2-standard-4"


def test_pinned_machine_type_is_selected() -> None:
    shape = acc.lookup_gpu("nvidia-h100-80gb", 2, "a3-highgpu-2g")
    assert shape.node_selector() == {"cloud.google.com/gke-accelerator": "nvidia-h100-80gb",
                                     "node.kubernetes.io/instance-type": "a3-highgpu-2g"}
    assert shape.memory_total_gb == 160


@pytest.mark.parametrize(("args", "fragment"), [
    (("nvidia-l4", 16), "16 GPUs do not fit on one nvidia-l4 node (at most 8, on g2-standard-96)"),
    (("nvidia-tesla-a100", 8, "a2-highgpu-4g"), "8 GPUs do not fit on one a2-highgpu-4g node"),
    (("nvidia-l4", 1, "a3-highgpu-1g"), "machine type 'a3-highgpu-1g' has no nvidia-l4 GPUs"),
    (("tpu-v6e-slice", 1), "unknown GPU accelerator 'tpu-v6e-slice'"),
])
def test_impossible_gpu_shapes(args: tuple, fragment: str) -> None:
    with pytest.raises(acc.UnknownGpu, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        acc.lookup_gpu(*args)


@pytest.mark.parametrize(("image", "family"), [
    ("registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5", "tpu"), ("vllm/vllm-tpu:nightly", "tpu"),
    ("registry.redhat.io/rhaiis/vllm-cuda-rhel9:3.2.5", "gpu"), ("vllm/vllm-openai:v0.10.1", "gpu"),
    ("quay.io/example/vllm-tpu@sha256:" + "0" * 64, "tpu"), ("gpu.example.com/serving/vllm:1", None),
    ("mycorp/llm-server:1", None),
])
def test_image_family_reads_the_repository_name(image: str, family: str | None) -> None:
    assert acc.image_family(image) == family


# --- the environment -------------------------------------------------------------------------------------

def test_gpu_model_loads(tmp_path: Path) -> None:
    path = tmp_path / "gpu.yaml"
    path.write_text(_gpu_env(), encoding="utf-8")
    model = load_environment(path).models[0]
    assert isinstance(model.accelerator, acc.GpuShape)
    assert (model.accelerator.count, model.image) == (1, "registry.redhat.io/rhaiis/vllm-cuda-rhel9:3.2.5")


def test_images_per_family_from_the_environment(tmp_path: Path) -> None:
    images = ("vllm:\n  images:\n    gpu: vllm/vllm-openai:v0.10.1\n"
              "    tpu: registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5\n")
    path = tmp_path / "gpu.yaml"
    path.write_text(_gpu_env(GPU_MODEL.split("\n", 1)[1], images), encoding="utf-8")
    assert load_environment(path).models[0].image == "vllm/vllm-openai:v0.10.1"


IMAGES_SWAPPED = "vllm:\n  images:\n    gpu: registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5\n"
ERRORS = [
    # (model lines, top-level lines, needle of the offending line, message fragment)
    (GPU_MODEL + "    topology: 2x2\n", "", "topology: 2x2",
     "models[0].topology: nvidia-l4 is a GPU: give count"),
    (TPU_MODEL + "    count: 4\n", "", "count: 4", "models[0].count: tpu-v6e-slice is a TPU slice"),
    (GPU_MODEL.replace("    count: 1\n", ""), "", "accelerator: nvidia-l4",
     "models[0].accelerator: nvidia-l4 is a GPU: count (GPUs per replica) is required"),
    (TPU_MODEL.replace("    topology: 2x2\n", ""), "", "accelerator: tpu-v6e-slice",
     "models[0].accelerator: tpu-v6e-slice is a TPU slice: topology is required"),
    (GPU_MODEL.replace("nvidia-l4", "nvidia-l40s"), "", "accelerator: nvidia-l40s",
     "unknown GPU accelerator 'nvidia-l40s'"),
    (GPU_MODEL.replace("count: 1", "count: 16"), "", "count: 16", "16 GPUs do not fit on one nvidia-l4 node"),
    (GPU_MODEL.replace("count: 1", "count: 8") + "    machineType: a2-highgpu-4g\n", "",
     "machineType: a2-highgpu-4g", "machine type 'a2-highgpu-4g' has no nvidia-l4 GPUs"),
    (GPU_MODEL.replace("vllm-cuda-rhel9", "vllm-tpu-rhel9"), "", "vllm-tpu-rhel9",
     "models[0].image: registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5 is a TPU build of vLLM (its repository "
     "name has the word 'tpu'"),
    (GPU_MODEL.split("\n", 1)[1], "", "accelerator: nvidia-l4",
     "no vLLM image for nvidia-l4 (GPU): set vllm.images.gpu or this model's image"),
    (GPU_MODEL.split("\n", 1)[1], IMAGES_SWAPPED, "gpu: registry", "vllm.images.gpu: "
     "registry.redhat.io/rhaiis/vllm-tpu-rhel9:3.2.5 is a TPU build of vLLM"),
]


@pytest.mark.parametrize(("model", "top", "needle", "fragment"), ERRORS)
def test_config_errors_are_one_line_with_file_and_line(tmp_path: Path, model: str, top: str, needle: str,
                                                       fragment: str) -> None:
    text = _gpu_env(model, top)
    make_project(tmp_path, {"gpu": text})
    result = run_infergate("synth", "--project", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)
    assert f"gpu.yaml:{line}:" in lines[0], lines[0]
    assert fragment in lines[0], lines[0]


# --- synth and lint --------------------------------------------------------------------------------------

def test_gpu_model_server_and_lint_from_the_environment(tmp_path: Path) -> None:
    """A 70B model named without its size on one L4: synth writes it (fit is lint's question), and lint
    of dist/<env> weighs it with the environment's `parameters` (GPU414)."""
    model = (GPU_MODEL + "    parameters: 70B\n")
    text = _gpu_env(model).replace("servedName: Qwen/Qwen2.5-3B-Instruct", "servedName: big-model")
    make_project(tmp_path, {"gpu": text})
    result = run_infergate("synth", "--project", str(tmp_path))
    assert result.returncode == 0, result.stderr
    dist = tmp_path / "dist" / "gpu"
    (isvc_file,) = dist.glob("model-*/LLMInferenceService.*.yaml")
    spec = yaml.safe_load(isvc_file.read_text(encoding="utf-8"))["spec"]["template"]
    main = spec["containers"][0]
    assert main["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    assert main["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert "--tensor-parallel-size=1" in main["args"]
    assert not any(e["name"].startswith("TPU_") or e["name"] == "PJRT_DEVICE" for e in main.get("env", []))
    assert spec["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert spec["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Equal",
                                    "value": "present"}]
    lint = run_infergate("lint", "--format", "json", str(dist))
    codes = [f["code"] for f in _findings(lint.stdout)]
    assert codes == ["GPU414"], lint.stdout
    assert "70B parameters (the environment)" in lint.stdout


def _findings(stdout: str) -> list[dict]:
    import json

    data = json.loads(stdout)
    return data["findings"] if isinstance(data, dict) else data


LINT_FIXTURES = Path(__file__).parent / "fixtures" / "lint" / "gpu"


@pytest.mark.parametrize(("fixture", "codes"), [
    ("good-llama-8b-1x-l4.yaml", []),
    ("good-llama-8b-2x-h100.yaml", []),
    ("gpu411-8-gpus-on-a2-highgpu-4g.yaml", ["GPU411"]),
    ("gpu412-tp8-on-4-gpus.yaml", ["GPU412"]),
    ("gpu413-no-gpu-scheduling.yaml", ["GPU413"]),
    ("gpu414-70b-bf16-on-one-l4.yaml", ["GPU414"]),
])
def test_gpu_lint_fixtures_fire_their_rule_only(fixture: str, codes: list[str]) -> None:
    findings, _ = lint_paths([LINT_FIXTURES / fixture], config=LintConfig())
    assert [f.code for f in findings] == codes, [f"{f.code} {f.message}" for f in findings]
