"""dist/fleet/argocd-config/: what Argo CD itself must carry before it syncs the environments.

- the Lua health checks in `argocd-cm` (without them a sync wave does not wait for an Application,
  an LLMInferenceService, an InferencePool or an Istio to be ready);
- `kustomize.path.<version>` for every kustomize version an environment pins for the KServe overlay
  (operators.kserve.kustomizeVersion; an Application naming an unregistered version fails), and the
  binary at that path on the repo-server;
- the OCI Helm repositories of profiles that install KServe from its charts (ghcr.io/kserve/charts):
  Argo CD pulls a Helm chart from an OCI registry only when a repository with `enableOCI` declares it
  (values only: the chart turns `configs.repositories` into repository Secrets).

Three forms of the same keys:

- ``argo-cd.values.yaml``: values for the argo-cd Helm chart (argoproj/argo-helm): `configs.cm` entries,
  and a repo-server init container per pinned kustomize version that downloads it into the `custom-tools`
  volume (the chart's supported hooks: repoServer.initContainers, volumes, volumeMounts). The durable
  form: every `helm upgrade` with these values keeps the keys.
- ``argocd-cm.patch.yaml``: a JSON merge patch adding the keys to a Helm-installed `argocd-cm`
  (`kubectl patch configmap argocd-cm -n argocd --type merge --patch-file argocd-cm.patch.yaml`). The next
  `helm upgrade` without the values above drops them again.
- ``ConfigMap.argocd-cm.yaml``: the whole ConfigMap, only for an Argo CD whose argocd-cm nobody else
  writes (`kubectl apply` replaces the ConfigMap: on a Helm install it wipes the chart's settings).

The first two are no Kubernetes objects: their names end in `.values.yaml` / `.patch.yaml`, which
validate and lint skip (infergate.core.loader.skipped_as_not_manifest).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from constructs import Construct
from infergate.charts.argocd_health import ArgoHealthCustomizations
from infergate.charts.common import Chart
from infergate.charts.health_checks import health_customizations

from infergate.synth.config import Environment

VALUES_FILE = "argo-cd.values.yaml"
PATCH_FILE = "argocd-cm.patch.yaml"
CUSTOM_TOOLS = "/custom-tools"  # the emptyDir the init containers fill, mounted into the repo-server
CUSTOM_TOOLS_VOLUME = "custom-tools"
# Any small image with sh, wget (TLS), sha256sum and tar; Argo CD's own image has no downloader.
INIT_IMAGE = "docker.io/library/alpine:3.22"
KUSTOMIZE_RELEASES = "https://github.com/kubernetes-sigs/kustomize/releases/download"
# sha256 of kustomize_<version>_linux_<arch>.tar.gz, as Argo CD's image build pins them
# (argoproj/argo-cd hack/installers/checksums/). Other versions are checked against the release's
# checksums.txt, which only catches a broken download.
KUSTOMIZE_SHA256: dict[tuple[str, str], str] = {
    ("v5.7.0", "amd64"): "0d98f06d6d2c2c0ff8923cc136a517af74aaa187f1b9f3e17ff370d0625ede84",
    ("v5.7.0", "arm64"): "744bb1bc1854b6634dea9eaf6db2f401a734ed25d6837baa6f91157d79c27d5e",
    ("v5.7.1", "amd64"): "ea375e7372f9aa029129d4b2d16c66b7750b7f1213c4f66f910d981c895818d8",
    ("v5.7.1", "arm64"): "4261a040217df3bd6896597c3986d1465925726e4f22a945304b5233a4dcdbda",
    ("v5.8.0", "amd64"): "4dfa8307358dd9284aa4d2b1d5596766a65b93433e8fa3f9f74498941f01c5ef",
    ("v5.8.0", "arm64"): "a4f48b4c3d4ca97d748943e19169de85a2e86e80bcc09558603e2aa66fb15ce1",
    ("v5.8.1", "amd64"): "029a7f0f4e1932c52a0476cf02a0fd855c0bb85694b82c338fc648dcb53a819d",
    ("v5.8.1", "arm64"): "0953ea3e476f66d6ddfcd911d750f5167b9365aa9491b2326398e289fef2c142",
}
ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}  # uname -m -> release name

# Application health for app-of-apps: Argo CD (>= 1.8) no longer assesses a child Application's health,
# so without this a sync wave does not wait for the previous wave's Applications to be Healthy.
APPLICATION_HEALTH_LUA = """hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
"""


def kustomize_versions(envs: Sequence[Environment]) -> list[str]:
    """The kustomize versions the environments pin for KServe, oldest first."""
    pinned = {e.operators.kserve.kustomize_version for e in envs if e.operators.kserve.kustomize_version}
    return sorted(pinned, key=lambda v: tuple(int(part) for part in v.lstrip("v").split(".")))


def kustomize_path(version: str) -> str:
    return f"{CUSTOM_TOOLS}/kustomize-{version}"


def argocd_cm_data(envs: Sequence[Environment]) -> dict[str, str]:
    """The argocd-cm entries every form carries, sorted."""
    data = {"resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
            **{f"kustomize.path.{v}": kustomize_path(v) for v in kustomize_versions(envs)},
            **health_customizations()}
    return dict(sorted(data.items()))


def _download_script(version: str) -> str:
    """sh -e: download kustomize ``version`` for this node's architecture, check its sha256, unpack it
    as kustomize-<version> into the custom-tools volume."""
    archive = f"kustomize_{version}_linux_${{arch}}.tar.gz"
    url = f"{KUSTOMIZE_RELEASES}/kustomize%2F{version}"
    sums = {arch: KUSTOMIZE_SHA256.get((version, arch)) for arch in ARCHES.values()}
    pinned = all(sums.values())
    cases = [f'  {machine}) arch={arch}; sum="{sums[arch]}" ;;' if pinned else f"  {machine}) arch={arch} ;;"
             for machine, arch in ARCHES.items()]
    lookup = [] if pinned else [  # no pinned digest for this version: the release's own list
        f'wget -q -O checksums.txt "{url}/checksums.txt"',
        f'sum=$(grep " {archive}$" checksums.txt | cut -d" " -f1)',
        "rm checksums.txt",
    ]
    return "\n".join([
        "arch=$(uname -m)",
        'case "$arch" in',
        *cases,
        '  *) echo "no kustomize release for $arch" >&2; exit 1 ;;',
        "esac",
        f"cd {CUSTOM_TOOLS}",
        f'wget -q -O kustomize.tar.gz "{url}/{archive}"',
        *lookup,
        'echo "$sum  kustomize.tar.gz" | sha256sum -c -',
        "tar -xzf kustomize.tar.gz kustomize",
        "rm kustomize.tar.gz",
        f"mv kustomize kustomize-{version}",
        "",
    ])


def _init_container(version: str) -> dict[str, Any]:
    mount = {"name": CUSTOM_TOOLS_VOLUME, "mountPath": CUSTOM_TOOLS}
    return {
        "name": f"kustomize-{version.replace('.', '-')}",
        "image": INIT_IMAGE,
        "command": ["sh", "-ec", _download_script(version)],
        "volumeMounts": [mount],
        # the repo-server's user (999) owns the binary; nothing else is writable
        "securityContext": {"runAsNonRoot": True, "runAsUser": 999, "runAsGroup": 999,
                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
    }


def oci_helm_repositories(envs: Sequence[Environment]) -> dict[str, dict[str, str]]:
    """configs.repositories entries for the OCI registries the environments' Helm charts come from."""
    urls = sorted({e.operators.kserve.repo_url for e in envs if e.operators.kserve.install == "helm"})
    return {f"oci-{url.replace('/', '-').replace('.', '-')}": {"name": url, "url": url, "type": "helm",
                                                               "enableOCI": "true"} for url in urls}


def helm_values(envs: Sequence[Environment]) -> dict[str, Any]:
    """Values for the argo-cd Helm chart (maps merge with the user's values; lists replace theirs)."""
    values: dict[str, Any] = {"configs": {"cm": argocd_cm_data(envs)}}
    repositories = oci_helm_repositories(envs)
    if repositories:
        values["configs"]["repositories"] = repositories
    versions = kustomize_versions(envs)
    if versions:
        values["repoServer"] = {
            "initContainers": [_init_container(v) for v in versions],
            "volumes": [{"name": CUSTOM_TOOLS_VOLUME, "emptyDir": {}}],
            "volumeMounts": [{"name": CUSTOM_TOOLS_VOLUME, "mountPath": CUSTOM_TOOLS}],
        }
    return values


def merge_patch(envs: Sequence[Environment]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) that adds the entries to an existing argocd-cm."""
    return {"data": argocd_cm_data(envs)}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (Lua, shell) as literal blocks, as cdk8s writes them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(header: str, document: dict[str, Any]) -> str:
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.strip().splitlines())
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=10_000,
                     allow_unicode=True)
    return comments + body


def _namespace(envs: Sequence[Environment]) -> str:
    return envs[0].argocd.namespace


def values_text(envs: Sequence[Environment]) -> str:
    versions = kustomize_versions(envs)
    downloads = [f"repoServer: init containers download kustomize {', '.join(versions)} from github.com",
                 "(sha256-checked) into the custom-tools volume. Helm replaces lists when it merges value",
                 "files: if your values set repoServer initContainers, volumes or volumeMounts, merge them."]
    header = "\n".join([
        "Values for the argo-cd Helm chart (https://github.com/argoproj/argo-helm), generated by infergate:",
        "the argocd-cm entries the environments' sync waves rely on, kept across every `helm upgrade`.",
        f"  helm upgrade --install argocd argo/argo-cd -n {_namespace(envs)} \\",
        f"    -f your-values.yaml -f {VALUES_FILE}",
        *(downloads if versions else []),
        *(["configs.repositories: the OCI Helm registries KServe's charts come from (Argo CD needs them"
           " declared)."] if oci_helm_repositories(envs) else []),
    ])
    return dump(header, helm_values(envs))


def patch_text(envs: Sequence[Environment]) -> str:
    header = "\n".join([
        "JSON merge patch for a Helm-installed Argo CD's argocd-cm, generated by infergate:",
        f"  kubectl patch configmap argocd-cm -n {_namespace(envs)} --type merge --patch-file {PATCH_FILE}",
        f"A `helm upgrade` without {VALUES_FILE} drops these keys again.",
        *(["The kustomize.path entries need the binaries: see the repoServer values in " + VALUES_FILE]
          if kustomize_versions(envs) else []),
        *([f"KServe's OCI Helm registry must be a repository of Argo CD too: see configs.repositories in "
           f"{VALUES_FILE}"] if oci_helm_repositories(envs) else []),
    ])
    return dump(header, merge_patch(envs))


class ArgoConfigChart(Chart):
    """dist/fleet/argocd-config/ConfigMap.argocd-cm.yaml: the whole argocd-cm (the alternative form)."""

    def __init__(self, scope: Construct, folder: str, envs: Sequence[Environment]) -> None:
        super().__init__(scope, folder)
        ArgoHealthCustomizations(self, "health", namespace=_namespace(envs), extra_data=argocd_cm_data(envs))


def write_files(envs: Sequence[Environment], outdir: Path) -> None:
    """The two forms that are no Kubernetes objects, next to the ConfigMap."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / VALUES_FILE).write_text(values_text(envs), encoding="utf-8")
    (outdir / PATCH_FILE).write_text(patch_text(envs), encoding="utf-8")
