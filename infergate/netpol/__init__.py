"""NetworkPolicy reachability: parse policies, evaluate flows exactly, check them against the model."""
