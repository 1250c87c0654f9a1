"""Docs rendered from the code, so the README cannot drift (a test compares them)."""

from __future__ import annotations

import json

from jupyter_service.config.schema import ROOT, Opt, Table


def _default_text(opt: Opt) -> str:
    if opt.default is None:
        return "`null`" if not opt.required else "required"
    return f"`{json.dumps(opt.default)}`"


def _rows(prefix: str, table: Table) -> list[str]:
    rows = []
    for key, spec in table.options.items():
        path = f"{prefix}{key}"
        if isinstance(spec, Table):
            if spec.entry is None:
                rows += _rows(path + ".", spec)
            continue
        ours = " (ours)" if spec.addition else ""
        rows.append(
            f"| `{path}` | {spec.kind} | {_default_text(spec)} | {spec.description}{ours} |"
        )
    return rows


def render_option_table() -> str:
    """The README's option table, from the schema."""
    from jupyter_service.config.schema import IHASKELL, OTHER_PYTHON_KERNEL, PYTHON_BASE

    header = ["| Option | Type | Default | Description |", "|---|---|---|---|"]
    rows = _rows("", ROOT)
    rows += _rows("extraKernels.ihaskell.", IHASKELL)
    rows += _rows("extraKernels.python-base.", PYTHON_BASE)
    rows += _rows("extraKernels.<name>.", OTHER_PYTHON_KERNEL)
    return "\n".join(header + rows)


def _replace_between(readme: str, name: str, table: str) -> str:
    start_marker, end_marker = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    start = readme.index(start_marker) + len(start_marker)
    end = readme.index(end_marker)
    return readme[:start] + table + "\n" + readme[end:]


def render_doctor_table() -> str:
    """The README's table of doctor's checks, from the checks themselves."""
    from jupyter_service.doctor.checks import render_checks_table

    return render_checks_table()


def write_readme_table(readme: str) -> str:
    """The README with its generated tables (options, doctor's checks) brought up to date."""
    readme = _replace_between(readme, "options", render_option_table())
    return _replace_between(readme, "doctor", render_doctor_table())


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if sys.argv[1:] == ["--write"]:
        path = Path("README.md")
        path.write_text(write_readme_table(path.read_text()))
    else:
        print(render_option_table())
