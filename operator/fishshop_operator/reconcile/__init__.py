"""One shop brought to its spec: the Reconciler, its steps, the resync loop, its memory."""
