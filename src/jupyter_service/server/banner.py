"""What `up` and `run` say they serve, once the server listens. Pure."""

from __future__ import annotations

from pathlib import Path

from jupyter_service.config import ServiceConfig

AUTH_WORDS = {
    "token": "token (the generated one in the URL)",
    "password": "password (argon2 hash from the config)",
    "authelia": "Authelia forward-auth through nginx (Remote-User with the proxy secret)",
}


def public_url(config: ServiceConfig) -> str | None:
    """Where people reach the service through nginx, when reverseProxy is on."""
    proxy = config.reverseProxy
    if not proxy.enable or not proxy.domains:
        return None
    scheme = "https" if proxy.sslCertificate else "http"
    default_port = 443 if scheme == "https" else 80
    port = "" if proxy.listen == default_port else f":{proxy.listen}"
    return f"{scheme}://{proxy.domains[0]}{port}{config.baseUrl}"


def render_banner(
    config: ServiceConfig, state: Path, generation: int | None, kernels: list[str]
) -> list[str]:
    """The lines before the URL: config, state dir, generation, auth mode, public URL."""
    if generation is None:
        current = "none (no stable kernels are served)"
    else:
        current = f"{generation} ({', '.join(kernels) or 'no stable kernels'})"
    lines = [
        f"config: {config.source_name}",
        f"state dir: {state}",
        f"generation: {current}",
        f"auth: {AUTH_WORDS[config.auth_mode]}",
    ]
    public = public_url(config)
    if public:
        lines.append(f"public URL: {public}")
    return lines
