"""The declarative config: its options, their validation, and the parsed model."""

from jupyter_service.config.model import (
    PRESETS,
    PYTHON_BASE,
    AutheliaConfig,
    HubConfig,
    ReverseProxyConfig,
    ServiceConfig,
    embedded_default,
    load_config,
    parse_config,
    stable_kernel,
)
from jupyter_service.kernels import StableKernel

__all__ = [
    "PRESETS",
    "PYTHON_BASE",
    "AutheliaConfig",
    "HubConfig",
    "ReverseProxyConfig",
    "ServiceConfig",
    "StableKernel",
    "embedded_default",
    "load_config",
    "parse_config",
    "stable_kernel",
]
