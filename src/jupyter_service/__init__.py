"""jupyter-service: one declarative TOML file to a running, authenticated Jupyter service."""

__version__ = "0.1.0"
