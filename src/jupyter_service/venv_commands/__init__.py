"""One module per `jupyter-venv-kernel` verb, as `commands/` is for `jupyter-service`: each
exposes `register(subparsers)` and a handler that calls the domain code in `venvs/`, which
returns results, and prints them. Imports of the domain code happen in the handlers, so
`--help` and a bad name cost nothing (tests/test_startup.py)."""
