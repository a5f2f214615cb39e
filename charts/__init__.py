"""cdk8s charts: one module per concern of the inference stack."""
