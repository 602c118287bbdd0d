"""One received instance -> one case, through the upload's own path.

The node adds to what an upload does (backend.cases.service: checks, de-identification, S3,
row, audit, then the job once the row is committed) only the identity map's row (the original
identifiers, sealed, in the same transaction: backend.identity_map), and turns the outcome into
a DIMSE status. The header screen (backend.dicom_node.screen) has already refused what is not a
film.
"""

from __future__ import annotations

import uuid

from pydicom.dataset import Dataset
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.accounts.principal import RequestCtx
from backend.adapters.errors import DependencyUnavailable
from backend.cases import service
from backend.cases.enums import Priority
from backend.dicom_node.account import AccountUnusable, service_account
from backend.dicom_node.screen import Origin, case_fields
from backend.dicom_node.statuses import (
    DEPENDENCY_DOWN,
    NOT_AUTHORIZED,
    PROCESSING_FAILURE,
    SUCCESS,
    Outcome,
    Refused,
)
from backend.errors import DomainError
from backend.identity_map import service as identity_map
from backend.identity_map.identifiers import Identity
from backend.platform.logs import get_logger
from backend.platform.services import Services
from backend.platform.unit_of_work import commit
from inference.errors import InputError

log = get_logger("dicom_node")

# what an outage of S3, DynamoDB, SQL or Redis looks like here (as backend.http.errors maps them
# to 503): the sender is told to try again later
OUTAGES = (
    DependencyUnavailable,
    OperationalError,
    InterfaceError,
    PoolTimeout,
    TimeoutError,
    ConnectionError,
)


def stat_reason(priority: Priority, calling_ae: str) -> str | None:
    """A STAT case needs a reason (backend.cases.limits); the node's is its configuration."""
    if priority != Priority.STAT:
        return None
    return f"Sent by {calling_ae}: the DICOM node's priority is STAT (MEDSEGTEXT_DICOM_PRIORITY)."


async def ingest(services: Services, header: Dataset, origin: Origin, data: bytes) -> Outcome:
    """Make the case, owned by the service account, and queue its job. A refusal raises
    Refused with the status to answer; nothing is left stored after one."""
    settings = services.settings
    priority = Priority(settings.dicom_priority)
    fields = case_fields(header, priority, origin.calling_ae)
    request_id = f"dicom-{uuid.uuid4().hex[:12]}"
    try:
        async with services.sessions() as db:
            try:
                account = await service_account(db, settings.dicom_service_account)
            except AccountUnusable as e:
                raise Refused(NOT_AUTHORIZED, str(e)) from None
            ctx = RequestCtx(user=account, client_addr=origin.peer, request_id=request_id)
            case, job = await service.create_case(
                db, services, ctx, account, fields, data, stat_reason(priority, origin.calling_ae)
            )
            # the original identifiers, sealed, committed with the case or not at all: what
            # sends the results back into the same study (backend.pacs_outbox)
            identity_map.keep(db, settings, case.id, origin.calling_ae, Identity.of_header(header))
            try:
                await commit(db)  # then the job's enqueue (backend.platform.unit_of_work)
            except BaseException:
                if not job.committed:  # no row: no file either
                    await service.discard_upload(services, case)
                raise
    except InputError as e:
        raise Refused.of_input_error(e) from None
    except OUTAGES as e:
        log.warning(
            "instance not stored: a dependency is down",
            extra={"request_id": request_id, "reason": str(e)},
        )
        raise Refused(
            DEPENDENCY_DOWN, "A store the node needs is unavailable; send again later."
        ) from None
    except DomainError as e:
        raise Refused(PROCESSING_FAILURE, e.detail) from None
    log.info(
        "case created from DICOM",
        extra={
            "case_id": case.id,
            "calling_ae": origin.calling_ae,
            "peer": origin.peer,
            "enqueued": bool(job.result),
            "request_id": request_id,
        },
    )
    return Outcome(SUCCESS, case_id=case.id)
