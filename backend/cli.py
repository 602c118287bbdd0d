"""Backend administration from the shell: `users create`, and `deidentify-stored`, the one-off
backfill that de-identifies DICOM films stored before PS3.15 de-identification existed
(backend.cases.backfill). The database must already be migrated (the CLI never creates tables).
`medsegtext users ...` and `medsegtext deidentify-stored` delegate to main()."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
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
    deid = groups.add_parser(
        "deidentify-stored", help="de-identify DICOM films stored before this release (once)",
        description="Re-run today's de-identification on every stored DICOM film and rewrite "
                    "it in place; quarantine films with burned-in annotation. Idempotent. "
                    "Progress on stderr, a JSON summary on stdout; exit 1 if any failed.")
    deid.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    return parser


def deidentify_stored(dry_run: bool, settings: Settings | None = None) -> int:
    """Run the backfill (imported here: `users create` need not load pydicom), print its
    summary; 0 if nothing failed, 1 if some film failed, 2 if the run stopped."""
    from sqlalchemy.exc import SQLAlchemyError

    from backend.adapters.errors import DependencyUnavailable
    from backend.cases import backfill

    def progress(line: str) -> None:
        print(f"deidentify-stored: {line}", file=sys.stderr, flush=True)

    try:
        summary = asyncio.run(backfill.run(settings or load_settings(), dry_run, progress))
    except (DependencyUnavailable, SQLAlchemyError, OSError) as e:
        print(f"error: deidentify-stored stopped: {e} (run it again: finished films are "
              "skipped)", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_json(), indent=2))
    if summary.burned_in:
        print(f"deidentify-stored: {len(summary.burned_in)} film(s) with burned-in annotation "
              f"{'would be ' if dry_run else ''}quarantined: {', '.join(summary.burned_in)}",
              file=sys.stderr)
    if not dry_run and (summary.rewritten or summary.quarantined):
        print("deidentify-stored: restart the API processes now: they keep recently served "
              "images in memory, which may still hold the old files", file=sys.stderr)
    return 1 if summary.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.group == "deidentify-stored":
        return deidentify_stored(args.dry_run)
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
