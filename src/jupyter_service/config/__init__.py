"""The declarative config: its options, their validation, and the parsed model."""

from jupyter_service.config.model import (
    AutheliaConfig,
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
    "IHaskellKernel",
    "PythonKernel",
    "ReverseProxyConfig",
    "ServiceConfig",
    "embedded_default",
    "load_config",
    "parse_config",
]
