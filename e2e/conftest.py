"""Browser tests against the live stack (devstack + portal) in Debian's Chromium.

The stack starts once per session (see e2e_stack.py). To reuse one that is already running,
set MEDSEGTEXT_E2E_PORTAL_URL and MEDSEGTEXT_E2E_API_URL (its admin must be the one in
e2e_stack.ACCOUNTS). Screenshots go to e2e/artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_stack import ACCOUNTS, API_READY_S, BUN, CHROMIUM, DATA, PORTAL_READY_S, ROOT, Stack

from tests.shared_data import require

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
QATA_IMAGES = DATA / "qata-cov19" / "images"
PORTAL_PYTHON = ROOT / "frontend" / ".venv" / "bin" / "python"
RESTART_TESTS = "test_portal_restart.py"
#: pytest-timeout's limit for a browser test: the first one also waits for the live stack, which
#: on a fresh machine installs and builds the portal first.
E2E_TIMEOUT_S = API_READY_S + PORTAL_READY_S + 300


class Api:
    """A small API client for test setup (what a browser test checks happens in the browser)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        # idle connections expire before uvicorn's 5 s keep-alive closes them (see portal/api.py)
        self.http = httpx.Client(
            base_url=self.base, timeout=30, limits=httpx.Limits(keepalive_expiry=2.0)
        )
        self.tokens: dict[str, str] = {}

    def token(self, email: str, password: str) -> str:
        if email not in self.tokens:
            r = self.http.post("/api/auth/login", json={"email": email, "password": password})
            r.raise_for_status()
            self.tokens[email] = r.json()["token"]
        return self.tokens[email]

    def as_role(self, role: str) -> dict[str, str]:
        email, password = ACCOUNTS[role]
        return {"Authorization": f"Bearer {self.token(email, password)}"}

    def upload(self, role: str, path: Path, **fields: str) -> dict[str, Any]:
        r = self.http.post(
            "/api/cases",
            headers=self.as_role(role),
            data=fields,
            files={"file": (path.name, path.read_bytes(), "image/png")},
        )
        assert r.status_code == 202, r.text
        return dict(r.json())

    def wait_done(self, role: str, case_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            case = self.http.get(f"/api/cases/{case_id}", headers=self.as_role(role)).json()
            if case["status"] in ("done", "failed"):
                assert case["status"] == "done", case
                return dict(case)
            time.sleep(0.5)
        raise AssertionError(f"case {case_id} not done after {timeout} s")

    def create_user(self, email: str, password: str, role: str, full_name: str = "") -> dict:
        r = self.http.post(
            "/api/admin/users",
            headers=self.as_role("admin"),
            json={"email": email, "password": password, "role": role, "full_name": full_name},
        )
        assert r.status_code in (200, 201), r.text
        return dict(r.json())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser tests (e2e, and their longer timeout) and run them last:
    pytest-playwright's sync API keeps an event loop running in the main thread for the rest of
    the session, and pytest's grouping by shared session fixtures would otherwise interleave
    them with the asyncio suites."""
    here = Path(__file__).resolve().parent
    browser = [item for item in items if here in Path(str(item.fspath)).resolve().parents]
    for item in browser:
        item.add_marker(pytest.mark.e2e)
        item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))
    chosen = set(map(id, browser))
    # the restart test last: it stops and starts the session's stack under the others
    browser.sort(key=lambda item: Path(str(item.fspath)).name == RESTART_TESTS)
    items[:] = [item for item in items if id(item) not in chosen] + browser


@pytest.fixture(scope="session")
def chromium() -> str:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's Chromium "
            "(apt-get install -y chromium) to run the browser tests"
        )
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def own_stack(chromium: str) -> Iterator[Stack | None]:
    """The stack this session started and stops; None where MEDSEGTEXT_E2E_PORTAL_URL and
    MEDSEGTEXT_E2E_API_URL name one that is already running."""
    if os.environ.get("MEDSEGTEXT_E2E_PORTAL_URL") and os.environ.get("MEDSEGTEXT_E2E_API_URL"):
        yield None
        return
    if shutil.which("npm") is None and not BUN.exists():
        pytest.skip(
            "npm is missing: the portal needs bun, which frontend/run.sh installs "
            "from the npm registry"
        )
    with tempfile.TemporaryDirectory(prefix="medsegtext-e2e-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
        except RuntimeError as e:
            pytest.fail(f"the live stack did not start: {e}", pytrace=False)
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def live_stack(own_stack: Stack | None) -> tuple[str, str]:
    """(portal_url, api_url) of a running stack."""
    if own_stack is not None:
        return own_stack.portal_url, own_stack.api_url
    return (
        os.environ["MEDSEGTEXT_E2E_PORTAL_URL"].rstrip("/"),
        os.environ["MEDSEGTEXT_E2E_API_URL"].rstrip("/"),
    )


@pytest.fixture(scope="session")
def base_url(live_stack: tuple[str, str]) -> str:
    return live_stack[0]


@pytest.fixture(scope="session")
def api(live_stack: tuple[str, str]) -> Iterator[Api]:
    client = Api(live_stack[1])
    yield client
    client.http.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium: str) -> dict:
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def xray() -> Path:
    """A real chest X-ray from the QaTa-COV19 set."""
    require(QATA_IMAGES / "covid_1.png", what="QaTa-COV19 images")
    return QATA_IMAGES / "covid_1.png"


@pytest.fixture(scope="session")
def xray2(xray: Path) -> Path:
    """A second, different chest X-ray."""
    return next(p for p in sorted(QATA_IMAGES.glob("*.png"))[:50] if p != xray)


@pytest.fixture(scope="session")
def dicom_xray(xray: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same X-ray as an uncompressed 16-bit DICOM DX file with patient data in it."""
    import numpy as np
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        DigitalXRayImageStorageForPresentation,
        ExplicitVRLittleEndian,
        generate_uid,
    )

    pixels = np.asarray(Image.open(xray).convert("L"), dtype=np.uint16) * 16
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientID = "DX", "Doe^Jane", "SECRET-123"
    # type 1 in every image IOD: a DICOM SEG or SR of the case refers to them
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    path = tmp_path_factory.mktemp("dicom") / "chest.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture(scope="session")
def done_case(api: Api, xray: Path) -> dict[str, Any]:
    """A clinician's case whose analysis has finished (uploaded through the API)."""
    created = api.upload(
        "clinician", xray, patient_ref="E2E-REVIEW", age="61", sex="F", priority="urgent"
    )
    return api.wait_done("clinician", created["id"])


@pytest.fixture(scope="session")
def portal() -> dict[str, Any]:
    """Every portal state's handlers and defaults, from the state classes themselves."""
    if not PORTAL_PYTHON.exists():
        pytest.skip(f"{PORTAL_PYTHON} is missing: run frontend/run.sh --setup-only")
    out = subprocess.run(
        [str(PORTAL_PYTHON), str(Path(__file__).parent / "portal_handlers.py")],
        cwd=ROOT / "frontend",
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    listed: dict[str, Any] = json.loads(out.stdout)
    assert len(listed["handlers"]) > 40, listed["handlers"]  # the enumeration found the states
    return listed
