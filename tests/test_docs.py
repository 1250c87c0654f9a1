"""The README cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_service.cli import build_parser
from jupyter_service.docs import render_doctor_table, render_option_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_option_table_is_current() -> None:
    text = README.read_text()
    start = text.index("<!-- options:start -->\n") + len("<!-- options:start -->\n")
    end = text.index("<!-- options:end -->")
    assert text[start:end].strip() == render_option_table(), (
        "README option table is stale; run: python -m jupyter_service.docs --write"
    )


def test_doctor_table_is_current() -> None:
    text = README.read_text()
    start = text.index("<!-- doctor:start -->\n") + len("<!-- doctor:start -->\n")
    end = text.index("<!-- doctor:end -->")
    assert text[start:end].strip() == render_doctor_table(), (
        "README's table of doctor's checks is stale; run: python -m jupyter_service.docs --write"
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


SECURITY = README.parent / "SECURITY.md"


def _security_attacks() -> dict[int, str]:
    """SECURITY.md's numbered attacks, number -> text (continuation lines joined)."""
    text = SECURITY.read_text()
    section = text.split("## Attacks and the expected result", 1)[1].split("\n## ", 1)[0]
    found = [
        (int(match[1]), " ".join(match[2].split()))
        for match in re.finditer(r"^(\d+)\. (.*?)(?=^\d+\. |\Z)", section, re.M | re.S)
    ]
    numbers = [number for number, _ in found]
    assert numbers == sorted(set(numbers)), f"SECURITY.md's attacks out of order: {numbers}"
    return dict(found)


def test_security_md_names_a_real_test_for_every_attack() -> None:
    attacks = _security_attacks()
    for number, text in attacks.items():
        named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", text.split("Tests:", 1)[-1])
        assert "Tests:" in text and named, f"SECURITY.md {number} names no test"
        for file, function in named:
            source = (README.parent / "tests" / file).read_text()
            assert re.search(rf"^(async )?def {function}\(", source, re.M), (
                f"SECURITY.md {number} names {file}::{function}, which does not exist"
            )


def test_tests_cite_security_md_numbers_that_exist() -> None:
    attacks = _security_attacks()
    for path in (README.parent / "tests").rglob("*.py"):
        for cited in re.findall(r"SECURITY(?:\.md)? (\d+(?:(?:, | and |-)\d+)*)", path.read_text()):
            numbers = [int(n) for n in re.findall(r"\d+", cited)]
            assert all(n in attacks for n in numbers), f"{path.name} cites SECURITY.md {cited}"


def test_readme_points_at_the_security_file() -> None:
    assert SECURITY.is_file()
    assert "(SECURITY.md)" in README.read_text()


def _relative_links(text: str) -> list[str]:
    """Markdown link targets that are not URLs or in-page anchors, without their anchor."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [
        t.split("#", 1)[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")
    ]


def test_every_relative_link_in_the_readme_resolves_inside_the_repo() -> None:
    root = README.parent
    text = README.read_text()
    links = _relative_links(text)
    assert "SECURITY.md" in links  # the README points at it; it must be there
    # Paths the README names in code spans are files or dirs of the repo too.
    links += re.findall(r"`((?:tests|bench|scripts|src)/[^`\s]*)`", text)
    for link in links:
        target = (root / link).resolve()
        assert target.is_relative_to(root), f"README link leaves the repo: {link}"
        assert target.exists(), f"README links to {link}, which the repo does not have"
