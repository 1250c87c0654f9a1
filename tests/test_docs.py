"""The README cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from jupyter_service.cli import build_parser
from jupyter_service.docs import render_option_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_option_table_is_current() -> None:
    text = README.read_text()
    start = text.index("<!-- options:start -->\n") + len("<!-- options:start -->\n")
    end = text.index("<!-- options:end -->")
    assert text[start:end].strip() == render_option_table(), (
        "README option table is stale; run: python -m jupyter_service.docs --write"
    )


def test_every_command_is_documented() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "==SUPPRESS==" or a.choices)
    assert subparsers.choices
    text = README.read_text()
    for name in subparsers.choices:
        assert f"| `{name}" in text, f"command {name} missing from the README's command table"


def test_readme_opens_with_the_two_commands() -> None:
    blocks = README.read_text().split("```bash\n")[1:3]
    commands = [block.split("\n```")[0] for block in blocks]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/jupyter-service up",
        "bash scripts/test.sh",
    ]
