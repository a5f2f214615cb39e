"""`infergate verify`: apply dist/<env> to a real API server the way Argo CD syncs it, and report."""
