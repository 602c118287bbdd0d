"""Backend administration from the shell: `users create`. The database must already be
migrated (the CLI never creates tables). `medsegtext users ...` delegates to main()."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence

from backend.accounts import service as accounts
from backend.accounts.models import ROLES
from backend.accounts.passwords import PasswordPolicyError
from backend.platform.db import make_engine, make_sessionmaker, transaction
from backend.settings import Settings, load_settings


class CliError(RuntimeError):
    """A refusal to show the operator as one line, without a traceback."""


async def _create(settings: Settings, email: str, password: str, role: str,
                  full_name: str) -> int:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as db:
            user = await accounts.create_user(db, None, email=email, password=password,
                                              role=role, full_name=full_name)
            assert user.id is not None
            return user.id
    finally:
        await engine.dispose()


def users_create(email: str, password: str, role: str, full_name: str = "",
                 settings: Settings | None = None) -> int:
    """Create a user and return its id; raises CliError naming the reason on refusal."""
    try:
        return asyncio.run(_create(settings or load_settings(), email, password, role,
                                   full_name))
    except (accounts.AccountError, PasswordPolicyError) as e:
        raise CliError(str(e)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medsegtext", description="MedSegText backend admin")
    groups = parser.add_subparsers(dest="group", required=True)
    users = groups.add_parser("users", help="manage users").add_subparsers(dest="command",
                                                                           required=True)
    create = users.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: $MEDSEGTEXT_PASSWORD, else prompt")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--full-name", default="")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.group == "users" and args.command == "create":
        password = args.password or os.environ.get("MEDSEGTEXT_PASSWORD")
        if not password:
            if not sys.stdin.isatty():
                print("error: give --password or MEDSEGTEXT_PASSWORD", file=sys.stderr)
                return 2
            password = getpass.getpass("Password: ")
        try:
            user_id = users_create(args.email, password, args.role, args.full_name)
        except CliError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"created user {user_id} <{args.email.strip().lower()}> ({args.role})")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
