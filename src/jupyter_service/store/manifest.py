"""A generation's manifest entry: one stable kernel as a generation holds it. Typed,
versioned, and read here only.

Format 1 (before stable kernels had a language): `store_path`, `lock_sha256`,
`display_name`, `env` and `python`, the interpreter's version. Format 2 adds `format` and
`language` and keeps the language's own facts under `details`. A format-1 entry loads as
the format-2 entry that the same kernel would get today, so a switch after an upgrade finds
nothing to do and old generations stay restorable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jupyter_service.errors import ServiceError

FORMAT = 2
_COMMON = ("store_path", "lock_sha256", "display_name", "env")


@dataclass(frozen=True)
class ManifestEntry:
    language: str
    store_path: str
    lock_sha256: str
    display_name: str
    env: Mapping[str, str] = field(default_factory=dict)
    # The language's facts about the toolchain and packages (`{"python": "3.11.2"}`).
    details: Mapping[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "language": self.language,
            "store_path": self.store_path,
            "lock_sha256": self.lock_sha256,
            "display_name": self.display_name,
            "env": dict(self.env),
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "manifest") -> ManifestEntry:
        """An entry of any known format; a ServiceError naming `where` for anything else."""
        version = data.get("format", 1)
        try:
            if version == 1:
                return _from_format_1(data)
            if version == FORMAT:
                return cls(
                    language=str(data["language"]),
                    store_path=str(data["store_path"]),
                    lock_sha256=str(data["lock_sha256"]),
                    display_name=str(data["display_name"]),
                    env={str(k): str(v) for k, v in data.get("env", {}).items()},
                    details={str(k): str(v) for k, v in data.get("details", {}).items()},
                )
        except (KeyError, AttributeError, TypeError) as exc:
            raise ServiceError(
                f"unreadable kernel entry in {where}: {exc!r} missing or malformed",
                hint="jupyter-service switch  # writes a new generation",
            ) from None
        raise ServiceError(
            f"{where} has kernel entries in format {version!r}, newer than this version "
            f"reads (format {FORMAT})",
            hint="pip install --upgrade jupyter-service",
        )


def _from_format_1(data: Mapping[str, Any]) -> ManifestEntry:
    from jupyter_service.kernels import FORMAT_1_LANGUAGE

    return ManifestEntry(
        language=FORMAT_1_LANGUAGE,
        store_path=str(data["store_path"]),
        lock_sha256=str(data["lock_sha256"]),
        display_name=str(data["display_name"]),
        env={str(k): str(v) for k, v in data.get("env", {}).items()},
        details={str(k): str(v) for k, v in data.items() if k not in _COMMON},
    )
