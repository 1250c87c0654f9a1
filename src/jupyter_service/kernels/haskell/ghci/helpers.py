"""The Haskell source of the display helpers (helpers.hs, helpers_aeson.hs), made for one
ghci's token."""

from __future__ import annotations

from importlib.resources import files


def render_helpers(token: str) -> list[str]:
    """The helper blocks to define, in order: base's (always), then Vega-Lite's (which
    fails, harmlessly, where aeson is not among the kernel's packages)."""
    here = files(__package__)
    return [
        here.joinpath(name).read_text(encoding="utf-8").replace("@TOKEN@", token)
        for name in ("helpers.hs", "helpers_aeson.hs")
    ]
