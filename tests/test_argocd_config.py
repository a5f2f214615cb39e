"""dist/fleet/argocd-config/: Argo CD's own prerequisites as Helm values, a merge patch and (the
alternative) a whole ConfigMap, all carrying the same argocd-cm entries; validate and lint skip the two
files that are no Kubernetes objects; the repo-server init container really checks what it downloads."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from infergate.charts.health_checks import health_customizations

from infergate.core.loader import iter_files
from tests.conftest import REPO, example_dist_roots

GOLDEN_FLEET = REPO / "tests" / "golden" / "fleet"
CONFIG_DIRS = [root / "fleet" / "argocd-config" for root in example_dist_roots()] + \
    [GOLDEN_FLEET / "argocd-config"]


def _forms(folder: Path) -> tuple[dict, dict, dict]:
    """(ConfigMap, Helm values, merge patch) of one argocd-config folder."""
    texts = {name: (folder / name).read_text(encoding="utf-8")
             for name in ("ConfigMap.argocd-cm.yaml", "argo-cd.values.yaml", "argocd-cm.patch.yaml")}
    return tuple(yaml.safe_load(text) for text in texts.values())  # type: ignore[return-value]


@pytest.mark.parametrize("folder", CONFIG_DIRS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_values_patch_and_configmap_carry_the_same_entries(folder: Path) -> None:
    config_map, values, patch = _forms(folder)
    assert sorted(p.name for p in folder.iterdir()) == \
        ["ConfigMap.argocd-cm.yaml", "argo-cd.values.yaml", "argocd-cm.patch.yaml"]
    data = config_map["data"]
    assert config_map["metadata"]["name"] == "argocd-cm"
    assert patch == {"data": data}  # a merge patch touching nothing but these keys
    assert values["configs"]["cm"] == data
    for key, lua in health_customizations().items():
        assert data[key] == lua
    assert "argoproj.io_Application" in " ".join(data)  # app-of-apps waves wait for child health
    assert list(data) == sorted(data)


def test_applying_the_fleet_folder_no_longer_replaces_argocd_cm() -> None:
    """`kubectl apply -f dist/fleet/` (not recursive) must not clobber a Helm-installed argocd-cm."""
    for root in [*example_dist_roots(), GOLDEN_FLEET.parent]:
        top = [p.name for p in (root / "fleet").iterdir() if p.is_file()]
        assert top and not any("argocd-cm" in name for name in top), top


def test_kustomize_is_registered_and_provided_only_when_an_environment_pins_it() -> None:
    for root in example_dist_roots():  # the examples use Argo CD's bundled kustomize (>= v5.7.0)
        _, values, _ = _forms(root / "fleet" / "argocd-config")
        assert not [k for k in values["configs"]["cm"] if k.startswith("kustomize.")]
        assert "repoServer" not in values
        for app in root.glob("*/argocd/Application.*-kserve.yaml"):
            assert "kustomize" not in yaml.safe_load(app.read_text())["spec"]["source"]
    _, values, _ = _forms(GOLDEN_FLEET / "argocd-config")  # tests/golden/envs/variants.yaml pins v5.8.0
    assert values["configs"]["cm"]["kustomize.path.v5.8.0"] == "/custom-tools/kustomize-v5.8.0"
    kserve = yaml.safe_load((REPO / "tests" / "golden" / "variants" / "argocd"
                             / "Application.variants-kserve.yaml").read_text())
    assert kserve["spec"]["source"]["kustomize"] == {"version": "v5.8.0"}
    repo = values["repoServer"]
    (init,) = repo["initContainers"]
    assert repo["volumes"] == [{"name": "custom-tools", "emptyDir": {}}]
    mount = [{"name": "custom-tools", "mountPath": "/custom-tools"}]
    assert repo["volumeMounts"] == init["volumeMounts"] == mount
    assert init["securityContext"]["runAsNonRoot"] and init["securityContext"]["readOnlyRootFilesystem"]


def test_validate_and_lint_skip_the_values_and_the_patch() -> None:
    folder = GOLDEN_FLEET / "argocd-config"
    found = [p.name for p in iter_files([folder])]
    assert found == ["ConfigMap.argocd-cm.yaml"]
    assert list(iter_files([folder / "argo-cd.values.yaml", folder / "argocd-cm.patch.yaml"])) == []


def _fake_release(tmp: Path, payload: bytes) -> Path:
    archive = tmp / "release.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("kustomize")
        info.size, info.mode = len(payload), 0o755
        tar.addfile(info, io.BytesIO(payload))
    return archive


def _run_init(tmp: Path, version: str, archive: Path,
              checksums: str | None) -> subprocess.CompletedProcess[str]:
    """The init container's script with /custom-tools moved to a temp dir and wget served from disk."""
    from infergate.synth.node import prefer_pinned_node

    prefer_pinned_node()  # before cdk8s loads (argocd_config builds charts too)
    from infergate.charts.argocd_config import _download_script

    tools, bin_dir = tmp / "custom-tools", tmp / "bin"
    tools.mkdir(parents=True)
    bin_dir.mkdir()
    sums = tmp / "checksums.txt"
    if checksums is not None:
        sums.write_text(checksums, encoding="utf-8")
    wget = bin_dir / "wget"  # wget -q -O FILE URL: the archive, or the release's checksums.txt
    wget.write_text(f'#!/bin/sh\ncase "$4" in\n  */checksums.txt) cp "{sums}" "$3" ;;\n'
                    f'  *) cp "{archive}" "$3" ;;\nesac\n', encoding="utf-8")
    wget.chmod(0o755)
    uname = bin_dir / "uname"
    uname.write_text("#!/bin/sh\necho x86_64\n", encoding="utf-8")
    uname.chmod(0o755)
    script = _download_script(version).replace("/custom-tools", str(tools))
    return subprocess.run(["sh", "-ec", script], capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})


@pytest.mark.skipif(not all(shutil.which(t) for t in ("sh", "sha256sum", "tar", "grep", "cut")),
                    reason="needs a POSIX shell with sha256sum")
def test_init_container_installs_only_a_release_whose_sha256_matches(tmp_path: Path) -> None:
    archive = _fake_release(tmp_path, b"#!/bin/sh\necho fake kustomize\n")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    # a pinned version (digest from Argo CD's installers): the fake archive does not match
    pinned = _run_init(tmp_path / "pinned", "v5.8.0", archive, None)
    assert pinned.returncode != 0
    assert not (tmp_path / "pinned" / "custom-tools" / "kustomize-v5.8.0").exists()
    # another version: checked against the release's checksums.txt
    listed = (f"{'0' * 64}  kustomize_v5.9.9_linux_arm64.tar.gz\n"
              f"{digest}  kustomize_v5.9.9_linux_amd64.tar.gz\n")
    ok = _run_init(tmp_path / "listed", "v5.9.9", archive, listed)
    assert ok.returncode == 0, ok.stderr
    binary = tmp_path / "listed" / "custom-tools" / "kustomize-v5.9.9"
    assert binary.is_file() and binary.stat().st_mode & 0o111
    assert sorted(p.name for p in binary.parent.iterdir()) == ["kustomize-v5.9.9"]  # nothing else left
    wrong = _run_init(tmp_path / "wrong", "v5.9.9", archive, listed.replace(digest, "f" * 64))
    assert wrong.returncode != 0
    assert not (tmp_path / "wrong" / "custom-tools" / "kustomize-v5.9.9").exists()
