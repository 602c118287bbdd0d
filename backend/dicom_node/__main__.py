"""``python -m backend.dicom_node``: run the DICOM node until SIGINT or SIGTERM.

It needs the same database, S3 and Redis settings as the API (MEDSEGTEXT_* and the usual
DATABASE_URL / REDIS_URL / AWS names) plus the MEDSEGTEXT_DICOM_* ones (backend/settings/).
A reason it cannot start (no allowlist, no service account, the port in use) is printed as one
line and the exit code is 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from backend.dicom_node.account import AccountUnusable, service_account
from backend.dicom_node.server import Node
from backend.dicom_node.spool import Spool
from backend.platform.logs import configure_logging, get_logger
from backend.platform.services import Services
from backend.settings import Settings, SettingsError, load_settings

log = get_logger("dicom_node")


class CannotStart(RuntimeError):
    pass


async def sweep_spool(spool: Spool, stop: asyncio.Event) -> None:
    """Remove abandoned spool files (backend.dicom_node.spool) until `stop` is set."""
    interval = max(0.2, min(30.0, spool.max_idle / 4))
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        await asyncio.to_thread(spool.sweep)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Listen until `stop` is set, then let the associations in progress finish."""
    if not settings.dicom_calling_aets:
        raise CannotStart(
            "MEDSEGTEXT_DICOM_CALLING_AETS is empty: name the calling AE titles "
            "(e.g. the PACS's) that may send to the node, comma-separated"
        )
    # The per-user upload rates (backend.cases.limits) are for people; the node's intake is
    # bounded by its association limit and the allowlist, and its priority is configured.
    services = await Services.start(
        settings.model_copy(update={"uploads_per_minute": 0, "stat_uploads_per_hour": 0})
    )
    try:
        async with services.sessions() as db:
            try:
                account = await service_account(db, settings.dicom_service_account)
            except AccountUnusable as e:
                raise CannotStart(str(e)) from None
        node = Node(services, asyncio.get_running_loop())
        try:
            server = node.start()
        except OSError as e:
            raise CannotStart(
                f"cannot listen on {settings.dicom_host}:{settings.dicom_port}: {e.strerror or e}"
            ) from None
        log.info(
            "DICOM node listening",
            extra={
                "ae_title": settings.dicom_ae_title,
                "host": settings.dicom_host,
                "port": server.server_address[1],
                "calling_aets": list(settings.dicom_calling_aets),
                "service_account": account.email,
                "max_associations": settings.dicom_max_associations,
                "spool": str(node.spool.folder),
            },
        )
        try:
            await sweep_spool(node.spool, stop)
        finally:
            await asyncio.to_thread(server.shutdown)  # handlers still need this loop meanwhile
    finally:
        await services.close()


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop)


def main() -> int:
    configure_logging()
    try:
        asyncio.run(_main(load_settings()))
    except (CannotStart, SettingsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
