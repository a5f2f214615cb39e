"""A hermetic kube-apiserver + etcd owned by infergate: built from the Go module proxy, run on loopback."""
