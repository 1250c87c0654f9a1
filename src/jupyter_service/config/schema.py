"""Every option: its key, type, default and meaning; and the walker that validates a table.

The option table in the README is rendered from here, so the two cannot drift.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jupyter_service.config import checks
from jupyter_service.names import name_problem

Check = Callable[[Any], "str | None"]
Problems = list[tuple[str, str]]

DEFAULT_TOOLS_PATH = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"]


@dataclass(frozen=True)
class Opt:
    """A leaf option. `kind` is one of: bool, int, string, list, table-of-strings,
    list-or-table (a list of strings, or a table of string values)."""

    kind: str
    default: Any
    description: str
    check: Check | None = None
    item_check: Check | None = None
    addition: bool = False  # ours, not in the original's tables
    required: bool = False


@dataclass(frozen=True)
class Table:
    options: Mapping[str, Opt | Table]
    description: str = ""
    addition: bool = False
    # For tables keyed by user-chosen names (extraKernels): the spec of one entry by its name.
    entry: Callable[[str], Table | str] | None = field(default=None, compare=False)


_KIND_WORDS = {
    "bool": "a boolean (true or false)",
    "int": "an integer",
    "string": "a string",
    "list": "a list of strings",
    "table-of-strings": "a table of string values",
    "list-or-table": "a list of strings or a table of string values",
}


def _type_name(value: object) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "float",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)


def _has_kind(kind: str, value: object) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    if kind == "table-of-strings":
        return isinstance(value, dict)
    if kind == "list-or-table":
        return isinstance(value, list | dict)
    raise AssertionError(kind)


def _validate_leaf(
    path: str, opt: Opt, value: object, problems: Problems, skip: frozenset[Check]
) -> object:
    check = None if opt.check in skip else opt.check
    item_check = None if opt.item_check in skip else opt.item_check
    if not _has_kind(opt.kind, value):
        problems.append(
            (path, f"expected {_KIND_WORDS[opt.kind]}, got {_type_name(value)} {value!r}")
        )
        return opt.default
    if opt.kind == "list" or (opt.kind == "list-or-table" and isinstance(value, list)):
        assert isinstance(value, list)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                problems.append((f"{path}[{i}]", f"expected a string, got {_type_name(item)}"))
            elif item_check and (why := item_check(item)):
                problems.append((f"{path}[{i}]", why))
        return list(value)
    if opt.kind in ("table-of-strings", "list-or-table"):
        assert isinstance(value, dict)
        for key, item in value.items():
            if not isinstance(item, str):
                problems.append((join_key(path, key), f"expected a string, got {_type_name(item)}"))
            elif item_check and (why := item_check(key)):
                problems.append((join_key(path, key), why))
        return dict(value)
    if check and (why := check(value)):
        problems.append((path, why))
    return value


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def join_key(path: str, key: str) -> str:
    """The TOML key path of `key` under `path`, quoting keys TOML would not take bare."""
    part = key if _BARE_KEY.fullmatch(key) else json.dumps(key)
    return f"{path}.{part}" if path else part


def _unknown_key(path: str, key: str, known: list[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    where = join_key(path, key)
    if close:
        return (where, f"unknown key; did you mean {close[0]!r}?")
    return (where, f"unknown key; allowed here: {', '.join(sorted(known))}")


def validate_table(
    path: str,
    spec: Table,
    data: Mapping[str, Any],
    problems: Problems,
    skip: frozenset[Check] = frozenset(),
) -> dict[str, Any]:
    """Validate `data` against `spec`, appending problems; return values with defaults filled.
    The checks in `skip` are not run."""
    result: dict[str, Any] = {}
    if spec.entry is not None:
        for key, value in data.items():
            sub = join_key(path, key)
            entry = spec.entry(key)
            if isinstance(entry, str):
                problems.append((sub, entry))
            elif not isinstance(value, dict):
                problems.append((sub, f"expected a table, got {_type_name(value)}"))
            else:
                result[key] = validate_table(sub, entry, value, problems, skip)
        return result
    for key in data:
        if key not in spec.options:
            problems.append(_unknown_key(path, key, list(spec.options)))
    for key, opt in spec.options.items():
        sub = join_key(path, key)
        present = key in data
        value = data.get(key)
        if isinstance(opt, Table):
            if present and not isinstance(value, dict):
                problems.append((sub, f"expected a table, got {_type_name(value)}"))
                value = {}
            result[key] = validate_table(sub, opt, value if present else {}, problems, skip)
        elif present:
            result[key] = _validate_leaf(sub, opt, value, problems, skip)
        else:
            if opt.required:
                problems.append((sub, f"required; expected {_KIND_WORDS[opt.kind]}"))
            result[key] = opt.default
    return result


# -- the options ----------------------------------------------------------------------------

# Pre-warmed kernels, for any stable Python kernel (server/pool.py).
POOL_OPTIONS = {
    "preheat": Opt(
        "int",
        0,
        "Kernels of it kept started and idle, so opening a notebook takes one at once",
        check=checks.check_preheat,
        addition=True,
    ),
    "preload": Opt(
        "list",
        [],
        'Modules each pre-warmed kernel imports ahead (`["numpy", "pandas"]`)',
        item_check=checks.check_module,
        addition=True,
    ),
}

# ghci's heap limit (`+RTS -M`): a runaway cell fails with "heap overflow" and the
# session goes on, instead of the kernel eating the machine's memory.
HEAP_LIMIT = Opt(
    "string",
    None,
    'Heap limit of the Haskell kernel\'s ghci (`+RTS -M`): `"4g"`, `"512m"`, or `"none"`; '
    "null = 4g (Haskell kernels)",
    check=checks.check_heap_limit,
    addition=True,
)

IHASKELL = Table(
    {
        "enable": Opt("bool", False, "Enable IHaskell kernel"),
        "package": Opt("string", "ihaskell", "IHaskell package"),
        "extraPackages": Opt(
            "list", [], "Extra Haskell packages", item_check=checks.check_haskell_package
        ),
        "heapLimit": HEAP_LIMIT,
    },
    "Stable Haskell kernel",
)

# A stable Python kernel's packages install from locked wheels only, but these.
ALLOW_BUILD = Opt(
    "list",
    [],
    "Packages that may be built from source (sdist); every other one installs from a "
    "locked wheel only",
    item_check=checks.check_requirement,
    addition=True,
)

PYTHON_BASE = Table(
    {
        "enable": Opt("bool", False, "Enable Python kernel"),
        "pythonPackage": Opt(
            "string",
            "python3",
            'Python interpreter: a version (`"3.11"`), a name or an absolute path',
            check=checks.check_python,
        ),
        "extraPackages": Opt(
            "list",
            [],
            "Extra Python packages (PEP 508 strings)",
            item_check=checks.check_requirement,
        ),
        "allowBuild": ALLOW_BUILD,
        **POOL_OPTIONS,
    },
    "Stable Python kernel with the data-science stack",
)

OTHER_PYTHON_KERNEL = Table(
    {
        "enable": Opt("bool", True, "Enable this kernel", addition=True),
        "language": Opt(
            "string",
            None,
            'Kernel language: `"python"` or `"haskell"`',
            check=checks.check_language,
            addition=True,
            required=True,
        ),
        "packages": Opt(
            "list",
            [],
            "The kernel's packages: PEP 508 for Python (ipykernel always added), Hackage "
            "names for Haskell",
            item_check=checks.check_requirement,
            addition=True,
        ),
        "pythonPackage": Opt(
            "string",
            "python3",
            "Python interpreter (Python kernels)",
            check=checks.check_python,
            addition=True,
        ),
        "displayName": Opt("string", None, "Name shown in JupyterLab", addition=True),
        "env": Opt("table-of-strings", {}, "Environment variables of the kernel", addition=True),
        "allowBuild": ALLOW_BUILD,
        "heapLimit": HEAP_LIMIT,
        **POOL_OPTIONS,
    },
    "More stable kernels, one table each",
    addition=True,
)


def _kernel_entry(name: str) -> Table | str:
    """The spec of `extraKernels.<name>`, or why the name itself is not allowed."""
    if name == "ihaskell":
        return IHASKELL
    if name == "python-base":
        return PYTHON_BASE
    return name_problem(name) or OTHER_PYTHON_KERNEL


def kernel_table(name: str) -> Table:
    """The options of `extraKernels.<name>` (a preset's, or the general table's)."""
    entry = _kernel_entry(name)
    return entry if isinstance(entry, Table) else OTHER_PYTHON_KERNEL


def kernel_option(name: str, table: Mapping[str, Any], key: str) -> Any:
    """`key` of `extraKernels.<name>` as `table` has it, else its default from the schema
    (the general table's for a key the preset's lacks, such as ihaskell's `preheat`)."""
    if key in table:
        return table[key]
    opt = kernel_table(name).options.get(key) or OTHER_PYTHON_KERNEL.options[key]
    assert isinstance(opt, Opt)
    return opt.default


EXTRA_KERNELS = Table({}, "Stable kernels", entry=_kernel_entry)

REVERSE_PROXY = Table(
    {
        "enable": Opt("bool", False, "Put nginx in front of Jupyter"),
        "domains": Opt(
            "list", [], "Public domain names the proxy serves", item_check=checks.check_domain
        ),
        "listen": Opt(
            "int",
            80,
            "Port nginx listens on (all IPv4 addresses)",
            check=checks.check_port,
            addition=True,
        ),
        "sslCertificate": Opt(
            "string",
            None,
            "TLS certificate (PEM) nginx serves; null = plain HTTP",
            check=checks.check_nginx_path,
            addition=True,
        ),
        "sslCertificateKey": Opt(
            "string",
            None,
            "Private key of `sslCertificate`",
            check=checks.check_nginx_path,
            addition=True,
        ),
        "authelia": Table(
            {
                "enable": Opt("bool", False, "Authenticate through Authelia forward-auth"),
                "url": Opt(
                    "string",
                    "http://127.0.0.1:9091",
                    "Where nginx reaches Authelia",
                    check=checks.check_service_url,
                    addition=True,
                ),
                "users": Opt(
                    "list",
                    [],
                    "Authelia users allowed in (empty: just `user`)",
                    item_check=checks.check_account,
                    addition=True,
                ),
            },
        ),
    },
    "Reverse proxy with Authelia",
)

HUB = Table(
    {
        "enable": Opt("bool", False, "Serve JupyterHub: one JupyterLab per user", addition=True),
        "users": Opt(
            "list-or-table",
            {},
            "The users: name = argon2 hash (password mode), or a list of names (Authelia mode)",
            item_check=checks.check_account,
            addition=True,
        ),
        "admins": Opt(
            "list",
            [],
            "Users who may list and stop servers through the hub",
            item_check=checks.check_account,
            addition=True,
        ),
        "spawner": Opt(
            "string",
            "local",
            'Where users\' servers run: `"local"` (their accounts here, children of the hub), '
            '`"systemd"` (their accounts here, one transient unit each, with the limits) or '
            '`"kubernetes"` (rendered by `hub-config --kubernetes`)',
            check=checks.check_spawner,
            addition=True,
        ),
        "memoryLimit": Opt(
            "string",
            None,
            'Memory of each user\'s server, such as `"2G"` (systemd and kubernetes spawners)',
            check=checks.check_memory_limit,
            addition=True,
        ),
        "cpuLimit": Opt(
            "string",
            None,
            'CPUs of each user\'s server, such as `"1.5"` (systemd and kubernetes spawners)',
            check=checks.check_cpu_limit,
            addition=True,
        ),
        "idleTimeout": Opt(
            "int",
            3600,
            "Stop a user's server idle this many seconds (jupyterhub-idle-culler); 0 = never",
            check=checks.check_idle_timeout,
            addition=True,
        ),
        "image": Opt(
            "string",
            "jupyter-service-singleuser:latest",
            "Single-user image name the Kubernetes rendering builds and uses",
            check=checks.check_image,
            addition=True,
        ),
    },
    "Several users: JupyterHub with the same kernels",
    addition=True,
)

ROOT = Table(
    {
        "enable": Opt("bool", False, "Enable Jupyter service"),
        "ip": Opt("string", "127.0.0.1", "Listen address", check=checks.check_ip),
        "port": Opt("int", 8888, "Listen port", check=checks.check_port),
        "user": Opt("string", "jupyter", "Service user", check=checks.check_account),
        "group": Opt("string", "jupyter", "Service group", check=checks.check_account),
        "notebookDir": Opt("string", "~/", "Notebook root directory", check=checks.check_dir),
        "password": Opt(
            "string", None, "Password hash (null = use Authelia)", check=checks.check_password
        ),
        "enableVenvKernels": Opt("bool", True, "Enable venv kernel management"),
        "extraTools": Opt(
            "list", [], "Extra tools in Jupyter PATH", item_check=checks.check_tool_name
        ),
        "extraToolsPath": Opt(
            "list",
            DEFAULT_TOOLS_PATH,
            "Directories where `extraTools` are looked up",
            item_check=checks.check_absolute,
            addition=True,
        ),
        "baseUrl": Opt(
            "string",
            "/",
            "URL path Jupyter is served under",
            check=checks.check_base_url,
            addition=True,
        ),
        "extraKernels": EXTRA_KERNELS,
        "reverseProxy": REVERSE_PROXY,
        "hub": HUB,
    }
)
