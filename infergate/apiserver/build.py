"""Build kube-apiserver and etcd at the pinned versions with the local Go toolchain, via the module proxy.

The recipe is a throwaway Go module written at run time into ``<cache>/tools/.build-<pins>/``: it requires
``k8s.io/kubernetes`` and etcd's server module and replaces every ``k8s.io/<staging>`` module (which
Kubernetes' own go.mod points at ``./staging/...``, useless to a dependent) with its published
``v0.<minor>.<patch>``. ``go build -mod=mod`` then resolves the graph and writes go.sum itself.

The module and build caches are private to that directory (the user's ``~/go`` and ``~/.cache/go-build``
are never touched) and removed after a successful build; a failed build keeps them, so a retry resumes
where the downloads stopped. Only the two binaries and ``build.json`` (what the build cost) stay.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from infergate.apiserver import pins
from infergate.core.errors import InfergateError
from infergate.crds.lockfile import cache_root

BINARIES = ("kube-apiserver", "etcd")
_GO_FALLBACK = Path("/usr/local/go/bin/go")  # where the official tarball installs; often not on PATH
_GO_VERSION = re.compile(r"go(\d+)\.(\d+)")
_STAGING = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", re.MULTILINE)


class GoMissing(InfergateError):
    """No Go toolchain and no binaries: the one line says how to get either."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    kubernetes: str
    etcd: str
    go: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    module_cache_mb: float
    build_cache_mb: float
    disk_after_mb: float  # what stays in the tool directory (the binaries)


def tools_root() -> Path:
    return cache_root() / "tools"


def tool_dir() -> Path:
    return tools_root() / pins.tool_dir_name()


def built_binaries(directory: Path | None = None) -> dict[str, Path] | None:
    """The two executables in ``directory`` (default: the pinned build), or None when one is missing."""
    directory = tool_dir() if directory is None else directory
    found = {name: directory / name for name in BINARIES}
    if all(path.is_file() and os.access(path, os.X_OK) for path in found.values()):
        return found
    return None


def binaries_from(directory: Path) -> dict[str, Path]:
    """``--binaries DIR``: prebuilt kube-apiserver and etcd, checked before anything starts."""
    found = built_binaries(directory)
    if found is None:
        raise InfergateError(f"--binaries {directory} must hold executable files named "
                             f"{' and '.join(BINARIES)}")
    return found


def discard_binaries() -> None:
    """Forget the pinned build (``apiserver build --force``): the next use builds from scratch."""
    shutil.rmtree(tool_dir(), ignore_errors=True)


def find_go() -> Path:
    found = shutil.which("go")
    path = Path(found) if found else _GO_FALLBACK
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise GoMissing(f"Go is not installed (no `go` on PATH nor {_GO_FALLBACK}): install Go "
                        f"{'.'.join(map(str, pins.MIN_GO))} or newer to build kube-apiserver "
                        f"{pins.KUBERNETES_VERSION} and etcd {pins.ETCD_VERSION}, or pass --binaries DIR")
    return path


def go_version(go: Path) -> str:
    out = subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True, check=False)
    match = _GO_VERSION.search(out.stdout)
    if out.returncode != 0 or not match:
        raise InfergateError(f"{go} does not work: {(out.stderr or out.stdout).strip()[:200]}")
    if tuple(map(int, match.groups())) < pins.MIN_GO:
        raise InfergateError(f"{go} is {out.stdout.strip()}; building Kubernetes {pins.KUBERNETES_VERSION} "
                             f"needs Go {'.'.join(map(str, pins.MIN_GO))} or newer (or pass --binaries DIR)")
    return out.stdout.strip()


def ensure_binaries(progress: Callable[[str], None] = lambda _: None,
                    ) -> tuple[dict[str, Path], BuildReport | None]:
    """The pinned binaries, built first when the cache lacks them (one build at a time per machine)."""
    found = built_binaries()
    if found is not None:
        return found, None
    go = find_go()
    tools_root().mkdir(parents=True, exist_ok=True)
    with _lock(tools_root() / ".build.lock"):
        found = built_binaries()  # another process may have built them while we waited
        if found is not None:
            return found, None
        report = build(go, progress)
    found = built_binaries()
    assert found is not None  # build() checked them
    return found, report


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _go_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "GOMODCACHE": str(work / "gomodcache"), "GOCACHE": str(work / "gocache"),
        "GOPATH": str(work / "gopath"), "GOTOOLCHAIN": "local", "GOWORK": "off", "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=mod -buildvcs=false",  # -mod=mod: the build itself writes go.mod/go.sum
    })
    return env


def _run_go(go: Path, args: list[str], work: Path, env: dict[str, str], log: Path) -> str:
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ go {' '.join(args)}\n")
        fh.flush()
        proc = subprocess.run([str(go), *args], cwd=work / "module", env=env, stdout=subprocess.PIPE,
                              stderr=fh, text=True, check=False)
    if proc.returncode != 0:
        tail = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()][-1:]
        raise InfergateError(f"`go {args[0]}` failed ({tail[0].strip()[:300] if tail else 'no output'}); "
                             f"full log: {log} (rerun resumes from the downloaded modules)")
    return proc.stdout


def staging_modules(kubernetes_gomod: str) -> list[str]:
    """The ``k8s.io/*`` modules Kubernetes' go.mod replaces with its own ``./staging`` folders."""
    return sorted(set(_STAGING.findall(kubernetes_gomod)))


def go_mod_text(staging: list[str]) -> str:
    replaces = "\n".join(f"\t{mod} => {mod} {pins.STAGING_VERSION}" for mod in staging)
    return ("// Written by infergate (infergate/apiserver/build.py): a build recipe, removed after use.\n"
            f"module infergate.local/apiserver-build\n\ngo {'.'.join(map(str, pins.MIN_GO))}\n\n"
            f"require (\n\tk8s.io/kubernetes {pins.KUBERNETES_VERSION}\n"
            f"\tgo.etcd.io/etcd/server/v3 {pins.ETCD_VERSION}\n)\n\nreplace (\n{replaces}\n)\n")


def _ldflags() -> str:
    # what Kubernetes' own build stamps, so /version reports the real release instead of v0.0.0-master
    major, minor = pins.KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    pkg = "k8s.io/component-base/version"
    return " ".join(["-s", "-w", f"-X {pkg}.gitVersion={pins.KUBERNETES_VERSION}",
                     f"-X {pkg}.gitMajor={major}", f"-X {pkg}.gitMinor={minor}",
                     f"-X {pkg}.gitTreeState=clean"])


def du_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed while we count
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return round(total / 2**20, 1)


def build(go: Path, progress: Callable[[str], None] = lambda _: None) -> BuildReport:
    version = go_version(go)
    final = tool_dir()
    work = tools_root() / f".build-{pins.tool_dir_name()}"
    (work / "module").mkdir(parents=True, exist_ok=True)
    env, log = _go_env(work), work / "build.log"
    start, usage0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)

    progress(f"building kube-apiserver {pins.KUBERNETES_VERSION} and etcd {pins.ETCD_VERSION} with {version} "
             f"(cold: ~10 min on 2 cores, ~750 MB of modules; log: {log})")
    gomod = work / "module" / "go.mod"
    if not gomod.exists():
        # outside any module `go mod download` fetches one module@version and tells where its go.mod is
        out = _run_go(go, ["mod", "download", "-json", f"k8s.io/kubernetes@{pins.KUBERNETES_VERSION}"],
                      work, env | {"GOFLAGS": ""}, log)
        kube_gomod = Path(json.loads(out)["GoMod"]).read_text(encoding="utf-8")
        staging = staging_modules(kube_gomod)
        if not staging:
            raise InfergateError(f"k8s.io/kubernetes@{pins.KUBERNETES_VERSION}'s go.mod lists no staging "
                                 "modules: the build recipe does not fit this version")
        gomod.write_text(go_mod_text(staging), encoding="utf-8")
    out_dir = work / "bin"
    for name, package in (("etcd", pins.ETCD_PACKAGE), ("kube-apiserver", pins.KUBE_APISERVER_PACKAGE)):
        progress(f"go build {package}")
        ldflags = _ldflags() if name == "kube-apiserver" else "-s -w"
        _run_go(go, ["build", "-trimpath", f"-ldflags={ldflags}", "-o", str(out_dir / name), package],
                work, env, log)
    for name in BINARIES:  # a binary that cannot even print its version is no build
        check = subprocess.run([str(out_dir / name), "--version"], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise InfergateError(f"built {name} does not run: {check.stderr.strip()[:200]}",
                                 file=str(out_dir))

    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - start
    modcache, buildcache = du_mb(work / "gomodcache"), du_mb(work / "gocache")
    if final.exists():
        shutil.rmtree(final)
    final.mkdir(parents=True)
    for name in BINARIES:
        os.replace(out_dir / name, final / name)
    progress("removing the build's module and build caches")
    # module cache files are read-only by design: `go clean -modcache` is the supported way to remove them
    subprocess.run([str(go), "clean", "-modcache"], env=env, cwd=work, capture_output=True, check=False)
    shutil.rmtree(work, ignore_errors=True)
    report = BuildReport(
        kubernetes=pins.KUBERNETES_VERSION, etcd=pins.ETCD_VERSION, go=version, wall_s=round(wall, 1),
        cpu_s=round((usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime), 1),
        peak_rss_mb=round(usage1.ru_maxrss / 1024, 1), module_cache_mb=modcache, build_cache_mb=buildcache,
        disk_after_mb=du_mb(final))
    (final / "build.json").write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    return report


def last_build_report(directory: Path | None = None) -> dict[str, object] | None:
    try:
        return json.loads(((tool_dir() if directory is None else directory) / "build.json").read_text())
    except (OSError, ValueError):
        return None
