"""The one place that pins the hermetic API server's versions, and why these.

* Kubernetes v1.33.13: the newest v1.33 patch on the module proxy when pinned; 1.33 is the minor the
  validator's core schemas default to (``--kubernetes-version``), so the server and the offline schemas
  judge the same API. The staging modules (``k8s.io/api``, ``k8s.io/apiserver``...) are published as
  ``v0.33.13``: the build replaces each ``k8s.io/<staging>`` module with that version.
* etcd v3.5.21: the exact etcd that ``k8s.io/kubernetes@v1.33.13``'s go.mod requires (its etcd client
  and ``go.etcd.io/etcd/server/v3``), so building etcd in the same module graph changes no version the
  API server was released with, and the server talks to the etcd it is tested against.

Bumping: change both together (etcd: read the ``go.etcd.io/etcd/server/v3`` line of the new
``k8s.io/kubernetes`` go.mod); the tool directory is named after both, so a bump builds afresh.
"""

from __future__ import annotations

KUBERNETES_VERSION = "v1.33.13"
STAGING_VERSION = "v0.33.13"  # k8s.io/<staging> modules are tagged v0.<minor>.<patch>
ETCD_VERSION = "v3.5.21"
# Older Go cannot build Kubernetes 1.33 (its go.mod says go 1.24.0); GOTOOLCHAIN=local keeps the build
# from downloading another toolchain behind the user's back, so the check is ours.
MIN_GO = (1, 24)

KUBE_APISERVER_PACKAGE = "k8s.io/kubernetes/cmd/kube-apiserver"
ETCD_PACKAGE = "go.etcd.io/etcd/server/v3"  # the server module's root package is etcd's main


def tool_dir_name() -> str:
    return f"kube-apiserver-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}"
