"""A small Kubernetes API client on httpx: kubeconfig, discovery, server-side apply, get, delete.

Only what verify and the CRD installer need, so no kubectl and no kubernetes Python client: apply is
``PATCH`` with ``application/apply-patch+yaml`` (a JSON body is valid YAML), ``fieldManager`` and
``force=true`` (Argo CD applies with ``--force-conflicts``), and ``fieldValidation=Strict`` (kubectl's
default since 1.27, so unknown or duplicate fields are rejections, not silent prunes).
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from infergate.core.errors import InfergateError

TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a server is and how to authenticate to it (from a kubeconfig or the hermetic state)."""

    server: str
    ca_pem: bytes | None = None
    insecure: bool = False
    token: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    source: str = ""  # for messages: the kubeconfig file and context


class ApiError(Exception):
    """The server answered with a Status failure (a rejection, NotFound...)."""

    def __init__(self, code: int, status: dict[str, Any]) -> None:
        self.code = code
        self.status = status
        self.reason = str(status.get("reason") or "")
        self.message = str(status.get("message") or f"HTTP {code}")
        super().__init__(self.message)

    @property
    def causes(self) -> list[dict[str, Any]]:
        details = self.status.get("details")
        causes = details.get("causes") if isinstance(details, dict) else None
        return [c for c in causes if isinstance(c, dict)] if isinstance(causes, list) else []


def _bad_kubeconfig(path: Path, why: str) -> InfergateError:
    return InfergateError(f"unusable kubeconfig: {why}", file=str(path))


def _data_or_file(entry: dict[str, Any], key: str, base: Path, path: Path) -> bytes | None:
    """``<key>-data`` (base64) or ``<key>`` (a file, relative to the kubeconfig's folder)."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError as exc:
            raise _bad_kubeconfig(path, f"{key}-data is not base64") from exc
    name = entry.get(key)
    if name:
        file = (base / str(name)).expanduser()
        try:
            return file.read_bytes()
        except OSError as exc:
            raise _bad_kubeconfig(path, f"cannot read {key} {file}: {exc.strerror}") from exc
    return None


def _named(items: Any, name: str, what: str, path: Path) -> dict[str, Any]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(what), dict):
            return item[what]
    raise _bad_kubeconfig(path, f"no {what} named {name!r}")


def load_kubeconfig(path: Path, context: str | None = None) -> Endpoint:
    """The endpoint of ``context`` (default: current-context); exec/auth-provider plugins are refused."""
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad_kubeconfig(path, exc.strerror or str(exc)) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _bad_kubeconfig(path, f"not YAML ({type(exc).__name__})") from exc
    if not isinstance(config, dict) or config.get("kind", "Config") != "Config":
        raise _bad_kubeconfig(path, "not a kubeconfig (kind: Config)")
    name = context or config.get("current-context")
    if not name:
        raise _bad_kubeconfig(path, "no current-context (pass --context)")
    ctx = _named(config.get("contexts"), str(name), "context", path)
    cluster = _named(config.get("clusters"), str(ctx.get("cluster")), "cluster", path)
    user = _named(config.get("users"), str(ctx.get("user")), "user", path) if ctx.get("user") else {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise _bad_kubeconfig(path, f"cluster {ctx.get('cluster')!r} has no http(s) server URL")
    if "exec" in user or "auth-provider" in user:
        raise _bad_kubeconfig(path, "exec and auth-provider credential plugins are not supported: use a "
                                    "token or client-certificate user")
    base = path.resolve().parent
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (_data_or_file({"token": user["tokenFile"]}, "token", base, path) or b"").decode().strip()
    return Endpoint(
        server=server.rstrip("/"), ca_pem=_data_or_file(cluster, "certificate-authority", base, path),
        insecure=bool(cluster.get("insecure-skip-tls-verify")), token=str(token) if token else None,
        client_cert_pem=_data_or_file(user, "client-certificate", base, path),
        client_key_pem=_data_or_file(user, "client-key", base, path), source=f"{path} (context {name})")


def kubeconfig_text(endpoint: Endpoint, name: str = "infergate-hermetic") -> str:
    """A kubeconfig for ``endpoint`` (token auth), e.g. for kubectl or `verify --kubeconfig`."""
    cluster: dict[str, Any] = {"server": endpoint.server}
    if endpoint.ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(endpoint.ca_pem).decode()
    config = {"apiVersion": "v1", "kind": "Config", "current-context": name,
              "clusters": [{"name": name, "cluster": cluster}],
              "users": [{"name": name, "user": {"token": endpoint.token}}],
              "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}
    return yaml.safe_dump(config, sort_keys=False)


@dataclass(frozen=True, slots=True)
class Resource:
    plural: str
    namespaced: bool


@dataclass
class KubeClient:
    endpoint: Endpoint
    _http: httpx.Client = field(init=False, repr=False)
    _resources: dict[str, dict[str, Resource] | None] = field(default_factory=dict, init=False, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        headers = {"Accept": "application/json", "User-Agent": "infergate"}
        if self.endpoint.token:
            headers["Authorization"] = f"Bearer {self.endpoint.token}"
        self._http = httpx.Client(base_url=self.endpoint.server, headers=headers, timeout=TIMEOUT_S,
                                  verify=self._ssl_context(), trust_env=False)

    def _ssl_context(self) -> ssl.SSLContext | bool:
        if not self.endpoint.server.startswith("https://"):
            return False
        if self.endpoint.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.endpoint.ca_pem:
            ctx = ssl.create_default_context(cadata=self.endpoint.ca_pem.decode())
        else:
            ctx = ssl.create_default_context()
        if self.endpoint.client_cert_pem and self.endpoint.client_key_pem:
            # ssl only loads a key pair from files: a private folder that lives as long as the client
            self._tmp = tempfile.TemporaryDirectory(prefix="infergate-client-")
            cert, key = Path(self._tmp.name) / "tls.crt", Path(self._tmp.name) / "tls.key"
            cert.write_bytes(self.endpoint.client_cert_pem)
            key.touch(mode=0o600)
            key.write_bytes(self.endpoint.client_key_pem)
            ctx.load_cert_chain(cert, key)
        return ctx

    def close(self) -> None:
        self._http.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- raw requests ---
    def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                body: Any = None, content_type: str = "application/json") -> dict[str, Any]:
        try:
            resp = self._http.request(method, path, params=params,
                                      content=None if body is None else json.dumps(body).encode(),
                                      headers={"Content-Type": content_type} if body is not None else None)
        except httpx.HTTPError as exc:
            raise InfergateError(f"cannot reach the API server {self.endpoint.server}: "
                                 f"{type(exc).__name__}: {exc}") from exc
        try:
            data = resp.json() if resp.content else {}
        except ValueError:
            data = {"message": resp.text[:300]}
        if resp.status_code >= 400:
            if resp.status_code == 401:
                source = f" from {self.endpoint.source}" if self.endpoint.source else ""
                raise InfergateError(f"the API server {self.endpoint.server} refused the credentials "
                                     f"(401 Unauthorized){source}")
            raise ApiError(resp.status_code, data if isinstance(data, dict) else {})
        return data if isinstance(data, dict) else {}

    def get_text(self, path: str) -> tuple[int, str]:
        try:
            resp = self._http.get(path)
        except httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        return resp.status_code, resp.text

    # --- discovery ---
    def forget(self, api_version: str | None = None) -> None:
        """Drop cached discovery (after CRDs are installed, a group that was missing may exist)."""
        if api_version is None:
            self._resources.clear()
        else:
            self._resources.pop(api_version, None)

    def resource(self, api_version: str, kind: str) -> Resource | None:
        if api_version not in self._resources or self._resources[api_version] is None:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            try:
                listing = self.request("GET", path)
            except ApiError as exc:
                if exc.code != 404:
                    raise
                self._resources[api_version] = None
                return None
            self._resources[api_version] = {
                str(r["kind"]): Resource(plural=str(r["name"]), namespaced=bool(r.get("namespaced")))
                for r in listing.get("resources", [])
                if isinstance(r, dict) and "/" not in str(r.get("name"))}  # no subresources
        table = self._resources[api_version]
        return table.get(kind) if table else None

    @staticmethod
    def object_path(api_version: str, res: Resource, name: str, namespace: str | None) -> str:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        ns = f"/namespaces/{namespace}" if res.namespaced and namespace else ""
        return f"{base}{ns}/{res.plural}/{name}"

    # --- objects ---
    def apply(self, path: str, obj: dict[str, Any], manager: str, *, dry_run: bool = False) -> dict[str, Any]:
        params = {"fieldManager": manager, "force": "true", "fieldValidation": "Strict"}
        if dry_run:
            params["dryRun"] = "All"
        return self.request("PATCH", path, params=params, body=obj,
                            content_type="application/apply-patch+yaml")

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", path)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def delete(self, path: str) -> None:
        try:
            self.request("DELETE", path, params={"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.code != 404:
                raise
