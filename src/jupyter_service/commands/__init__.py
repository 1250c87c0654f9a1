"""One module per `jupyter-service` subcommand; each exposes `register(subparsers)`."""
