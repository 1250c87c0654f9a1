"""What the verbs share: where the venv kernels live, and progress lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_service.venvs.layout import Layout


def layout() -> Layout:
    from jupyter_service.venvs.layout import Layout

    return Layout.from_environment()


def say(line: str) -> None:
    print(line, flush=True)
