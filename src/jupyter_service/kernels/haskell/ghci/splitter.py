"""A notebook cell -> the inputs ghci is sent, one at a time.

ghci reads one line per input unless told otherwise, so a cell is cut the way a reader of
Haskell sees it:

- a `:command` line is one input; a user's own `:{` ... `:}` block is one input as written;
- a line at column 0 and the indented (or blank) lines after it are one input;
- a type signature and the equations of the same name after it, and successive equations
  of one function, are one input (sent apart, each equation would replace the last);
- `{-# LANGUAGE X, Y #-}` becomes `:set -XX -XY`; comments and blank lines are dropped.

Inputs of more than one line are wrapped in `:{` / `:}`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

_KEYWORDS = frozenset(
    (  # noqa: SIM905
        "case class data default deriving do else foreign if import in infix infixl infixr "
        "instance let module newtype of then type where"
    ).split()
)
_VAR = r"[a-z_][\w']*"
_OPERATOR = r"[!#$%&*+./<=>?@\\^|~:-]+"
_SIGNATURE = re.compile(rf"^({_VAR}|\({_OPERATOR}\))(?:\s*,\s*(?:{_VAR}|\({_OPERATOR}\)))*\s*::")
_PREFIX_EQUATION = re.compile(rf"^({_VAR}|\({_OPERATOR}\))")
_INFIX_EQUATION = re.compile(rf"^{_VAR}\s*({_OPERATOR}|`{_VAR}`)\s")
_STRING_OR_CHAR = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)\'')
_BARE_EQUALS = re.compile(r"(?<![!#$%&*+./<=>?@\\^|~:-])=(?![!#$%&*+./<=>?@\\^|~:-])")
# `--` starts a comment unless more symbol characters make it an operator (`-->`).
_LINE_COMMENT = re.compile(r"^--+(?![!#$%&*+./<=>?@\\^|~:])")
_LANGUAGE_PRAGMA = re.compile(r"^\{-#\s*LANGUAGE\s+([\w\s,]+?)\s*#-\}\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Input:
    """One input for ghci: `text` exactly as it is sent (ending in a newline); `command`
    the ghci command word (`load` of `:load Foo.hs`), or None for Haskell code."""

    text: str
    command: str | None = None


def split_cell(cell: str) -> list[Input]:
    lines = _dedent(cell).splitlines()
    groups = _group(lines)
    inputs: list[Input] = []
    for group in _join_equations(groups):
        item = _render(group)
        if item is not None:
            inputs.append(item)
    return inputs


def _dedent(cell: str) -> str:
    return textwrap.dedent(cell.expandtabs(8))


def _group(lines: list[str]) -> list[list[str]]:
    """Blocks of lines: a `:{` block, a `{-` comment, a `:command`, or a column-0 line with
    its continuation."""
    groups: list[list[str]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.rstrip() == ":{":
            end = _find(lines, index + 1, lambda text: text.rstrip() == ":}")
            groups.append(lines[index : end + 1])
            index = end + 1
        elif line.startswith("{-") and not line.startswith("{-#"):
            end = _find(lines, index, lambda text: "-}" in text)
            index = end + 1  # a block comment: dropped
        elif line.startswith(":"):
            groups.append([line])
            index += 1
        elif _is_blank_or_comment(line):
            index += 1
        else:
            end = index + 1
            while end < len(lines) and _continues(lines, end):
                end += 1
            groups.append(lines[index:end])
            index = end
    return groups


def _find(lines: list[str], start: int, test: Callable[[str], bool]) -> int:
    """Index of the first line from `start` that passes `test`, else the last line."""
    for index in range(start, len(lines)):
        if test(lines[index]):
            return index
    return len(lines) - 1


def _continues(lines: list[str], index: int) -> bool:
    """Whether line `index` belongs to the block above: it is indented, or blank/comment
    with an indented line after it before the next column-0 line."""
    line = lines[index]
    if line[:1].isspace() and line.strip():
        return True
    if _is_blank_or_comment(line):
        for later in lines[index + 1 :]:
            if not _is_blank_or_comment(later):
                return later[:1].isspace()
    return False


def _is_blank_or_comment(line: str) -> bool:
    text = line.strip()
    return not text or _LINE_COMMENT.match(text) is not None


def _join_equations(groups: list[list[str]]) -> list[list[str]]:
    joined: list[list[str]] = []
    last_name: str | None = None
    for group in groups:
        name = _declared_name(group)
        if name is not None and name == last_name:
            joined[-1] = joined[-1] + group
        else:
            joined.append(group)
        last_name = name
    return joined


def _declared_name(group: list[str]) -> str | None:
    """The name a block declares (signature or equation), else None."""
    first = group[0]
    if first.startswith(":") or first.split(maxsplit=1)[0] in _KEYWORDS:
        return None
    signature = _SIGNATURE.match(first)
    if signature is not None:
        return signature.group(1).strip("()")
    code = _STRING_OR_CHAR.sub('""', "\n".join(group))
    if _BARE_EQUALS.search(code) is None:
        return None  # an expression or a statement, not an equation
    infix = _INFIX_EQUATION.match(first)
    if infix is not None and infix.group(1) not in {"=", "|", "::", "<-", "->", "@"}:
        return infix.group(1).strip("`")
    prefix = _PREFIX_EQUATION.match(first)
    return prefix.group(1).strip("()") if prefix is not None else None


def _render(group: list[str]) -> Input | None:
    first = group[0]
    if first.rstrip() == ":{":
        return Input("\n".join(group) + "\n")
    if first.startswith(":"):
        word = first[1:].split(maxsplit=1)
        return Input(first + "\n", word[0] if word else "")
    pragma = _LANGUAGE_PRAGMA.match(first)
    if pragma is not None and len(group) == 1:
        names = [name.strip() for name in pragma.group(1).split(",") if name.strip()]
        return Input(":set " + " ".join(f"-X{name}" for name in names) + "\n", "set")
    body = [line for line in group if line.strip()]
    if len(body) == 1:
        return Input(body[0] + "\n")
    return Input(":{\n" + "\n".join(group).rstrip("\n") + "\n:}\n")
