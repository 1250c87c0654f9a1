"""One module per `jupyter-service` subcommand; each exposes `register(subparsers)`.

`jupyter-service --help` imports every one of them, so at module level they import only
argparse and what they register with; a handler imports the domain code it runs when it
runs (tests/test_startup.py keeps it that way)."""
