"""The stable tier, whatever the language: locked kernels built into a content-addressed
store, switched atomically through numbered generations. What depends on a kernel's
language is asked of its `jupyter_service.kernels.Language`."""
