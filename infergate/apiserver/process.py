"""Start, find and stop the hermetic etcd + kube-apiserver pair, on loopback ports picked at start.

Everything a running pair needs or leaves lives in one state directory (default
``<cache>/apiserver/default``): PKI, etcd data, logs, a kubeconfig and ``state.json`` (pids, ports, token).
``down`` stops both processes (checking each pid still runs our binary before signalling it, so a
recycled pid is never hit) and removes the directory. No kubelet, scheduler or controller-manager:
the server only validates, defaults, admits and stores objects, which is all verify needs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from infergate.apiserver import pins
from infergate.apiserver.client import Endpoint, KubeClient, kubeconfig_text
from infergate.apiserver.pki import make_pki
from infergate.core.errors import InfergateError
from infergate.crds.lockfile import cache_root

STATE_FILE = "state.json"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0


def default_state_dir() -> Path:
    override = os.environ.get("INFERGATE_APISERVER_STATE")
    return Path(override) if override else cache_root() / "apiserver" / "default"


@dataclass(frozen=True, slots=True)
class ServerState:
    state_dir: str
    server: str
    token: str
    ca_file: str
    kubeconfig: str
    etcd_pid: int
    apiserver_pid: int
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    kube_apiserver: str
    etcd: str
    kubernetes_version: str
    started: float

    def endpoint(self) -> Endpoint:
        return Endpoint(server=self.server, ca_pem=Path(self.ca_file).read_bytes(), token=self.token,
                        source=f"hermetic server in {self.state_dir}")

    def client(self) -> KubeClient:
        return KubeClient(self.endpoint())


def free_port() -> int:
    """A loopback port free right now (the kernel's choice); the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_state(state_dir: Path) -> ServerState | None:
    try:
        data = json.loads((state_dir / STATE_FILE).read_text(encoding="utf-8"))
        return ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _check_ours(state_dir: Path) -> None:
    """Only a directory a server left (or an empty one) is ever removed: --state-dir may be mistyped."""
    if state_dir.is_dir() and ((state_dir / STATE_FILE).exists() or not any(state_dir.iterdir())):
        return
    raise InfergateError("is not a hermetic server's state directory (no state.json): not touching it",
                         file=str(state_dir))


def _runs(pid: int, binary: str) -> bool:
    """``pid`` is alive and still the process we started (its executable is ``binary``)."""
    try:
        return os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath(binary)
    except OSError:
        return False


def is_running(state: ServerState) -> bool:
    return _runs(state.etcd_pid, state.etcd) and _runs(state.apiserver_pid, state.kube_apiserver)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        # a session of its own: `up` returns while the servers run on, and a Ctrl-C in the user's
        # terminal does not reach them
        return subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _stop(pid: int, binary: str) -> None:
    if not _runs(pid, binary):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        _reap(pid)
        if not _runs(pid, binary):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        _reap(pid)
        if not _runs(pid, binary):
            return
        time.sleep(0.1)


def _reap(pid: int) -> None:
    # our own child (up and down in one process, as in tests): collect it so it leaves /proc
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(line.strip()[:200] for line in text[-lines:]) or "empty log"


def start(binaries: dict[str, Path], state_dir: Path | None = None) -> ServerState:
    """Start etcd and kube-apiserver and wait for /readyz; on any failure leave nothing running."""
    state_dir = default_state_dir() if state_dir is None else state_dir
    existing = read_state(state_dir)
    if existing is not None and is_running(existing):
        raise InfergateError(f"a hermetic API server already runs from {state_dir} ({existing.server}): "
                             "use it, or `infergate apiserver down` first")
    if state_dir.exists():
        _check_ours(state_dir)
        shutil.rmtree(state_dir)  # leftovers of a server that died: they would confuse etcd
    state_dir.mkdir(parents=True)
    state_dir.chmod(0o700)
    pki = make_pki(state_dir / "pki")
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
    etcd = _spawn([str(binaries["etcd"]), "--name=infergate", f"--data-dir={state_dir / 'etcd'}",
                   f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                   f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                   f"--initial-cluster=infergate={peer_url}", "--log-level=warn",
                   "--quota-backend-bytes=1073741824",  # a test server never needs the 2 GiB default
                   "--unsafe-no-fsync"],  # throwaway data: fsync only slows the disk other jobs share
                  state_dir / "etcd.log")
    server = f"https://127.0.0.1:{api_port}"
    apiserver = _spawn([
        str(binaries["kube-apiserver"]), f"--etcd-servers={etcd_url}",
        f"--secure-port={api_port}", "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
        f"--cert-dir={state_dir / 'pki'}", f"--tls-cert-file={pki.server_cert}",
        f"--tls-private-key-file={pki.server_key}", f"--token-auth-file={pki.token_file}",
        f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--api-audiences=https://kubernetes.default.svc.cluster.local",
        "--authorization-mode=RBAC", "--service-cluster-ip-range=10.96.0.0/16",
        # no kube-proxy or nodes: the `kubernetes` Service endpoint would point at loopback, which
        # Endpoints validation refuses; nothing here routes traffic, so the reconciler stays off
        "--endpoint-reconciler-type=none", "--enable-priority-and-fairness=false", "--profiling=false",
        "--watch-cache=false", "--v=0",
    ], state_dir / "apiserver.log")
    state = ServerState(
        state_dir=str(state_dir), server=server, token=pki.token, ca_file=str(pki.ca_cert),
        kubeconfig=str(state_dir / "kubeconfig"), etcd_pid=etcd.pid, apiserver_pid=apiserver.pid,
        etcd_port=etcd_port, etcd_peer_port=peer_port, apiserver_port=api_port,
        kube_apiserver=str(binaries["kube-apiserver"]), etcd=str(binaries["etcd"]),
        kubernetes_version=pins.KUBERNETES_VERSION, started=time.time())
    (state_dir / STATE_FILE).write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    kubeconfig = Path(state.kubeconfig)
    kubeconfig.write_text(kubeconfig_text(state.endpoint()), encoding="utf-8")
    kubeconfig.chmod(0o600)
    try:
        wait_ready(state, {"etcd": etcd, "kube-apiserver": apiserver})
    except BaseException:
        stop(state_dir)
        raise
    return state


def wait_ready(state: ServerState, procs: dict[str, subprocess.Popen[bytes]] | None = None,
               timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with state.client() as client:
        while time.monotonic() < deadline:
            for name, proc in (procs or {}).items():
                if proc.poll() is not None:
                    log = Path(state.state_dir) / f"{'etcd' if name == 'etcd' else 'apiserver'}.log"
                    raise InfergateError(f"{name} exited with code {proc.returncode} while starting: "
                                         f"{_tail(log)} (log: {log})")
            code, text = client.get_text("/readyz")
            if code == 200:
                return
            last = f"HTTP {code}: {text.strip().splitlines()[-1][:200] if text.strip() else ''}"
            time.sleep(0.25)
    raise InfergateError(f"the API server was not ready within {timeout:.0f} s ({last}); "
                         f"log: {Path(state.state_dir) / 'apiserver.log'}")


def stop(state_dir: Path | None = None) -> bool:
    """Stop both processes and remove the state directory; False when there was nothing to stop."""
    state_dir = default_state_dir() if state_dir is None else state_dir
    if not state_dir.exists():
        return False
    _check_ours(state_dir)
    state = read_state(state_dir)
    found = True
    if state is not None:
        _stop(state.apiserver_pid, state.kube_apiserver)  # the API server first: it is etcd's client
        _stop(state.etcd_pid, state.etcd)
    if state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
    return found
