"""The declarative config: its options, their validation, and the parsed model."""

from jupyter_service.config.model import (
    AutheliaConfig,
    HubConfig,
    IHaskellKernel,
    PythonKernel,
    ReverseProxyConfig,
    ServiceConfig,
    embedded_default,
    load_config,
    parse_config,
)

__all__ = [
    "AutheliaConfig",
    "HubConfig",
    "IHaskellKernel",
    "PythonKernel",
    "ReverseProxyConfig",
    "ServiceConfig",
    "embedded_default",
    "load_config",
    "parse_config",
]
