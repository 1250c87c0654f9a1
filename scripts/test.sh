#!/usr/bin/env bash
# Install everything the tests need, from nothing, and run the whole suite:
# ruff (format and lint), mypy strict on src/, then pytest (slow tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
# The hub tests run users' servers under other accounts: the venv's interpreter must be one
# they may run (Debian's, not one under a 0700 home such as pyenv's under /root).
PYTHON=python3
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))'; then
    PYTHON=/usr/bin/python3
fi
# A .venv made by another Python (the README's set-up runs whichever `python3` comes first,
# pyenv's say) is made again with this one: a venv cannot be switched to another
# interpreter in place.
if [ -e .venv/bin/python ] && ! .venv/bin/python -c 'import os, sys
sys.exit(os.path.realpath(sys._base_executable) != os.path.realpath(sys.argv[1]))' \
        "$(command -v "$PYTHON")" 2>/dev/null; then
    echo "scripts/test.sh: .venv was made by another Python; making it again with $PYTHON" >&2
    "$PYTHON" -m venv --clear .venv
fi
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# The browser tests drive Debian's chromium (Playwright's own download cannot work here).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The proxy tests run Debian's nginx as their own process (never the system service).
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
# The hub tests run JupyterHub's proxy: Debian's configurable-http-proxy (Node.js).
if ! command -v configurable-http-proxy >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq node-configurable-http-proxy >/dev/null
fi
# The hint tests paste `sudo …` hints back, as root (who may sudo without a password).
if ! command -v sudo >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1200 \
        install -y -qq sudo >/dev/null
fi
# The kill tests deliver SIGKILL at an exact system call with strace's fault injection.
if ! command -v strace >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1200 \
        install -y -qq strace >/dev/null
fi
# The Haskell tests run Debian's ghc with the libraries the Quick Start asks for (aeson
# also for the kernel's Vega-Lite helper).
haskell_missing=""
for package in ghc libghc-lens-dev libghc-aeson-dev libghc-vector-dev; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
        || haskell_missing="$haskell_missing $package"
done
if [ -n "$haskell_missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1200 \
        install -y -qq $haskell_missing >/dev/null
fi
.venv/bin/ruff format --check src tests bench
.venv/bin/ruff check src tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
