"""The Jupyter server: its pinned settings (pure) and the process that runs it."""
