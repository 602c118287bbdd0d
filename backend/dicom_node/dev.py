"""The DICOM node in `make up` (backend.devstack): its port, its settings on the embedded
default and its service account, so a film can be sent to a fresh stack with no setup."""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any

from backend.accounts import repository
from backend.accounts.enums import Role
from backend.accounts.service import create_user, normalize_email
from backend.platform.db import transaction

# the calling AE titles of pynetdicom's and dcmtk's storescu and echoscu, and Orthanc's default
DEV_CALLING_AETS = "STORESCU,ECHOSCU,ORTHANC"
SERVICE_ACCOUNT_NAME = "PACS (DICOM node)"


def child_env(host: str, port: int) -> dict[str, str]:
    """What the node's process gets on top of the stack's environment."""
    env = {"MEDSEGTEXT_DICOM_HOST": host, "MEDSEGTEXT_DICOM_PORT": str(port)}
    if not os.environ.get("MEDSEGTEXT_DICOM_CALLING_AETS"):
        env["MEDSEGTEXT_DICOM_CALLING_AETS"] = DEV_CALLING_AETS
    return env


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


async def ensure_service_account(services: Any) -> str:
    """The service account of the settings, made a clinician with a random password nobody is
    told (it never signs in) when it does not exist yet; returns its email."""
    email = normalize_email(services.settings.dicom_service_account)
    async with transaction(services.sessions) as db:
        if await repository.get_user_by_email(db, email) is None:
            await create_user(
                db,
                None,
                email=email,
                password=secrets.token_urlsafe(24),
                role=Role.CLINICIAN,
                full_name=SERVICE_ACCOUNT_NAME,
            )
    return email
