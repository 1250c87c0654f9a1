"""`jupyter-service hash-password`: print an argon2 hash for the `password` option."""

from __future__ import annotations

import argparse
import getpass
import sys

from jupyter_service.errors import ServiceError

# Below this a password falls to guessing within the login throttle's reach.
MIN_LENGTH = 12


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hash-password",
        help="prompt for a password; print an argon2: hash for `password`",
        description="On a terminal, ask for the password twice; otherwise read one line from "
        "standard input. Print an `argon2:` hash to paste into the config's `password`.",
    )
    parser.add_argument(
        "--allow-short",
        action="store_true",
        help=f"accept a password shorter than {MIN_LENGTH} characters",
    )
    parser.set_defaults(handler=run_hash_password)


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Verify password: "):
            raise ServiceError("the passwords do not match", hint="run it again")
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def run_hash_password(args: argparse.Namespace) -> int:
    from jupyter_server.auth.security import passwd

    password = read_password()
    if not password:
        raise ServiceError("empty password", hint="type a non-empty password")
    if len(password) < MIN_LENGTH and not args.allow_short:
        raise ServiceError(
            f"the password has {len(password)} characters; at least {MIN_LENGTH} are required",
            hint="use a longer one (a few words), or pass --allow-short to accept it anyway",
        )
    print(passwd(password, algorithm="argon2"))  # type: ignore[no-untyped-call]
    return 0
