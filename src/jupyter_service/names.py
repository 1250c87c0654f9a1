"""Our own kernel-name rule: jupyter_client's accepts `..`, `-rf` and `py3\\n`."""

from __future__ import annotations

import re

NAME_RULE = (
    "1 to 63 characters: lowercase letters a-z, digits, '-' and '_', "
    "starting with a letter or digit"
)
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def is_valid_name(name: str) -> bool:
    # fullmatch, not match+$: `$` would accept a trailing newline.
    return _NAME.fullmatch(name) is not None


def name_problem(name: object) -> str | None:
    """Why `name` is not a valid kernel name, or None when it is."""
    if not isinstance(name, str):
        return f"expected a string, got {type(name).__name__}"
    if is_valid_name(name):
        return None
    return f"{name!r} is not a valid kernel name; allowed: {NAME_RULE}"
