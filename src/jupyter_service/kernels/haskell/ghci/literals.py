"""Haskell string literals, as ghci reads them (`:set prompt "..."`, `:complete repl
"..."`) and as `show` writes them (`:complete`'s answers)."""

from __future__ import annotations

import re


def render_haskell_string(text: str) -> str:
    """`text` as the inside of a Haskell string literal."""
    return "".join(ch if " " <= ch <= "~" and ch not in '"\\' else f"\\{ord(ch)}\\&" for ch in text)


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE = re.compile(r"\\(\d+|x[0-9a-fA-F]+|o[0-7]+|&|.)", re.S)


def read_haskell_string(literal: str) -> str:
    """A Haskell string literal as `show` writes it, read back."""
    body = literal.strip()
    if len(body) >= 2 and body[0] == body[-1] == '"':
        body = body[1:-1]

    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.isdigit():
            return chr(int(code))
        if code[0] in "xo" and len(code) > 1:
            return chr(int(code[1:], 16 if code[0] == "x" else 8))
        if code == "&":
            return ""
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(unescape, body)
