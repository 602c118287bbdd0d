"""Backend administration from the shell: `users create`, `users set-password`, and
`deidentify-stored`, the one-off backfill that de-identifies films stored before PS3.15 DICOM
de-identification and PNG/JPEG metadata stripping existed (backend.cases.backfill). The
database must already be migrated (the CLI never creates tables). `medsegtext users ...` and
`medsegtext deidentify-stored` delegate to main()."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from backend.accounts import lifecycle
from backend.accounts import repository as repo
from backend.accounts import service as accounts
from backend.accounts.enums import Role
from backend.accounts.passwords import PasswordPolicyError, check_policy, hash_password, run_argon2
from backend.admin import audit
from backend.platform.db import make_engine, make_sessionmaker, transaction, utcnow
from backend.settings import Settings, load_settings


class CliError(RuntimeError):
    """A refusal to show the operator as one line, without a traceback."""


async def _create(settings: Settings, email: str, password: str, role: str, full_name: str) -> int:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as db:
            user = await accounts.create_user(
                db, None, email=email, password=password, role=role, full_name=full_name
            )
            assert user.id is not None
            return user.id
    finally:
        await engine.dispose()


def users_create(
    email: str, password: str, role: str, full_name: str = "", settings: Settings | None = None
) -> int:
    """Create a user and return its id; raises CliError naming the reason on refusal."""
    try:
        return asyncio.run(_create(settings or load_settings(), email, password, role, full_name))
    except (accounts.AccountError, PasswordPolicyError) as e:
        raise CliError(str(e)) from None


@dataclass(frozen=True)
class _ShellCtx:
    """The audit context of a change made from the shell (no user, no address)."""

    user_id: int | None = None
    role: str | None = None
    client_addr: str | None = None
    request_id: str = "cli"


async def _set_password(settings: Settings, email: str, password: str) -> int:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as db:
            user = await repo.get_user_by_email(db, accounts.normalize_email(email))
            if user is None or user.id is None:
                raise CliError(f"no user with email {email.strip().lower()}")
            check_policy(password, user.email)
            user.password_hash = await run_argon2(hash_password, password)
            db.add(user)
            ended = await lifecycle.revoke_all(
                db, _ShellCtx(), user.id, "password_change", utcnow()
            )
            audit.record(
                db,
                _ShellCtx(),
                audit.USER_UPDATE,
                "user",
                user.id,
                {"password": True, "tokens_revoked": ended, "via": "cli"},
            )
            return ended
    finally:
        await engine.dispose()


def users_set_password(email: str, password: str, settings: Settings | None = None) -> int:
    """Set a user's password from the shell (e.g. a forgotten admin one); every session and
    personal token of the user ends, as on any password change. Returns how many ended."""
    try:
        return asyncio.run(_set_password(settings or load_settings(), email, password))
    except (accounts.AccountError, PasswordPolicyError) as e:
        raise CliError(str(e)) from None


def _password_arg(args: argparse.Namespace) -> str | None:
    password = args.password or os.environ.get("MEDSEGTEXT_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("error: give --password or MEDSEGTEXT_PASSWORD", file=sys.stderr)
            return None
        password = getpass.getpass("Password: ")
    return str(password)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medsegtext", description="MedSegText backend admin")
    groups = parser.add_subparsers(dest="group", required=True)
    users = groups.add_parser("users", help="manage users").add_subparsers(
        dest="command", required=True
    )
    create = users.add_parser("create", help="create a user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: $MEDSEGTEXT_PASSWORD, else prompt")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--full-name", default="")
    setpw = users.add_parser("set-password", help="set a user's password (ends their sessions)")
    setpw.add_argument("--email", required=True)
    setpw.add_argument("--password", help="default: $MEDSEGTEXT_PASSWORD, else prompt")
    deid = groups.add_parser(
        "deidentify-stored",
        help="de-identify films stored before this release (once)",
        description="Re-run today's de-identification on every stored film (DICOM: PS3.15 "
        "allow-list; PNG/JPEG: metadata stripped) and rewrite it in place; "
        "quarantine DICOM films with burned-in annotation. Running API processes "
        "follow at once (no restart). Idempotent. Progress on stderr, a JSON "
        "summary on stdout; exit 1 if any failed.",
    )
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
        print(
            f"error: deidentify-stored stopped: {e} (run it again: finished films are skipped)",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(summary.as_json(), indent=2))
    if summary.burned_in:
        print(
            f"deidentify-stored: {len(summary.burned_in)} film(s) with burned-in annotation "
            f"{'would be ' if dry_run else ''}quarantined: {', '.join(summary.burned_in)}",
            file=sys.stderr,
        )
    if not dry_run and (summary.rewritten or summary.quarantined):
        print(
            "deidentify-stored: running API processes already serve the new files and "
            "refuse quarantined cases (no restart needed). If the bucket keeps object "
            "versions, delete the noncurrent versions of the rewritten and quarantined "
            "objects: they still hold the PHI",
            file=sys.stderr,
        )
    return 1 if summary.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.group == "deidentify-stored":
        return deidentify_stored(args.dry_run)
    if args.group == "users" and args.command == "set-password":
        password = _password_arg(args)
        if password is None:
            return 2
        try:
            ended = users_set_password(args.email, password)
        except CliError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(
            f"password set for <{args.email.strip().lower()}>; {ended} session(s) and "
            "token(s) ended"
        )
        return 0
    if args.group == "users" and args.command == "create":
        password = _password_arg(args)
        if password is None:
            return 2
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
