"""What travels on ghci's stdout besides the user's output: the prompt that ends each input,
and display frames written by the helpers in helpers.hs.

Both are marked with a random token chosen per ghci, so output that merely looks alike is
left alone. A display frame is one line:

    \\x1ejupyter-display-<token>\\x1e<mime> <base64> [<mime> <base64> ...]\\n

written at any point of a line (the helpers do not wait for a newline). The prompt is the
line `\\x1eghci-prompt-<token>-<n>\\n`, <n> being ghci's input line number, which grows with
every input. A SIGINT that reaches ghci while it waits for input makes it print its prompt
again with the same number: that prompt answers no input.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

SEPARATOR = "\x1e"


def new_token() -> str:
    return secrets.token_hex(8)


def render_prompt(token: str, line: int) -> str:
    return f"{render_prompt_prefix(token)}{line}\n"


def render_prompt_prefix(token: str) -> str:
    return f"{SEPARATOR}ghci-prompt-{token}-"


def render_display_marker(token: str) -> str:
    return f"{SEPARATOR}jupyter-display-{token}{SEPARATOR}"


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Display:
    """The raw frame line after the marker; `decode_display` turns it into a MIME bundle."""

    frame: str


@dataclass(frozen=True)
class Prompt:
    line: int


Event = Text | Display | Prompt


@dataclass
class StdoutScanner:
    """Cuts decoded stdout into text, display frames and prompts, across chunk boundaries."""

    token: str
    _pending: str = ""
    _prompt: str = field(init=False)  # up to the line number
    _marker: str = field(init=False)

    def __post_init__(self) -> None:
        self._prompt = render_prompt_prefix(self.token)
        self._marker = render_display_marker(self.token)

    def feed(self, chunk: str) -> list[Event]:
        events: list[Event] = []
        data = self._pending + chunk
        while data:
            cut = data.find(SEPARATOR)
            if cut < 0:
                events.append(Text(data))
                data = ""
                break
            if cut:
                events.append(Text(data[:cut]))
                data = data[cut:]
            if data.startswith(self._prompt):
                end = data.find("\n", len(self._prompt))
                number = data[len(self._prompt) : end if end >= 0 else len(data)]
                if end >= 0 and number.isdigit():
                    events.append(Prompt(int(number)))
                    data = data[end + 1 :]
                elif end < 0 and (not number or number.isdigit()):
                    break  # the number or its end is not here yet
                else:
                    events.append(Text(SEPARATOR))
                    data = data[1:]
            elif data.startswith(self._marker):
                end = data.find("\n", len(self._marker))
                if end < 0:
                    break
                events.append(Display(data[len(self._marker) : end]))
                data = data[end + 1 :]
            elif self._prompt.startswith(data) or self._marker.startswith(data):
                break  # a marker cut by the chunk boundary: wait for the rest
            else:
                events.append(Text(SEPARATOR))
                data = data[1:]
        self._pending = data
        return _merge_text(events)


def _merge_text(events: list[Event]) -> list[Event]:
    merged: list[Event] = []
    for event in events:
        if isinstance(event, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + event.text)
        elif not (isinstance(event, Text) and not event.text):
            merged.append(event)
    return merged


class FrameError(ValueError):
    """A display frame that cannot be decoded (says what is wrong with it)."""


def decode_display(frame: str) -> dict[str, Any]:
    """The MIME bundle of a frame: text types as str, JSON types parsed, others (images)
    as the base64 text Jupyter expects."""
    parts = frame.split()
    if not parts or len(parts) % 2:
        raise FrameError(f"a display frame needs <mime> <base64> pairs, got {frame[:80]!r}")
    bundle: dict[str, Any] = {}
    for mime, payload in zip(parts[::2], parts[1::2], strict=True):
        try:
            raw = base64.b64decode(payload, validate=True)
        except binascii.Error as err:
            raise FrameError(f"the {mime} payload is not base64: {err}") from None
        bundle[mime] = _decode_payload(mime, raw)
    return bundle


def _decode_payload(mime: str, raw: bytes) -> Any:
    if mime.startswith("image/") and not mime.startswith("image/svg"):
        return base64.b64encode(raw).decode("ascii")
    text = raw.decode("utf-8", errors="replace")
    if mime == "application/json" or mime.endswith("+json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise FrameError(f"the {mime} payload is not JSON: {err}") from None
    return text
