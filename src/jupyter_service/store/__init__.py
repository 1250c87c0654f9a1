"""The stable tier: locked Python kernels built into a content-addressed store, switched
atomically through numbered generations."""
