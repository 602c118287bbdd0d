"""A real PACS for the DICOM node tests: Orthanc from Debian (`make test-tools`), run in the
foreground on ports chosen when the session starts (the results sender's settings name them
before Orthanc runs), with the node configured as a modality it pushes to.

Orthanc records every instance it receives in a file (a Lua OnStoredInstance hook) and stores a
re-sent instance again ("OverwriteInstances"), so a test can count how many times an object
arrived, not only that it is there.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydicom.dataset import Dataset

from backend.platform.embedded import free_port

ORTHANC_AE = "ORTHANC"  # on the node fixture's allowlist; also the results' destination
NODE_MODALITY = "medsegtext"
_RECEIVED_LUA = """
function OnStoredInstance(instanceId, tags, metadata, origin)
  local f = io.open("{path}", "a")
  f:write(tags["SOPInstanceUID"] .. "\\n")
  f:close()
end
"""


@dataclass(frozen=True)
class OrthancPorts:
    http: int = field(default_factory=free_port)
    dicom: int = field(default_factory=free_port)


@dataclass
class Orthanc:
    """Orthanc's process, its REST API and what it received."""

    ports: OrthancPorts
    folder: Path
    node_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def log(self) -> Path:
        return self.folder / "orthanc.log"

    def start(self) -> None:
        """Start (again, on the same ports and storage) and wait until the REST API answers."""
        binary = shutil.which("Orthanc")
        assert binary is not None
        received = self.folder / "received.txt"
        (self.folder / "received.lua").write_text(_RECEIVED_LUA.replace("{path}", str(received)))
        (self.folder / "orthanc.json").write_text(
            json.dumps(
                {
                    "Name": "TESTPACS",
                    "StorageDirectory": str(self.folder / "db"),
                    "IndexDirectory": str(self.folder / "db"),
                    "HttpPort": self.ports.http,
                    "DicomPort": self.ports.dicom,
                    "DicomAet": ORTHANC_AE,
                    "RemoteAccessAllowed": False,
                    "AuthenticationEnabled": False,
                    # release each association at once rather than keep it open 5 s (the default),
                    # which would hold one of the node's few association places
                    "DicomAssociationCloseDelay": 0,
                    "DicomModalities": {NODE_MODALITY: ["MEDSEGTEXT", "127.0.0.1", self.node_port]},
                    "OverwriteInstances": True,
                    "LuaScripts": [str(self.folder / "received.lua")],
                }
            )
        )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [binary, str(self.folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/system", timeout=2).status_code == 200:
                    return
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            assert time.monotonic() < deadline, "Orthanc did not answer"
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop it (SIGTERM, then wait): its DICOM port refuses connections until start()."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # --- what it holds ---------------------------------------------------------------------
    def received(self) -> list[str]:
        """SOP Instance UIDs of every instance received, in order, repeats included."""
        path = self.folder / "received.txt"
        return path.read_text().split() if path.exists() else []

    def put(self, ds: Dataset, tmp: Path) -> dict[str, Any]:
        """Store an instance as a modality would have (REST upload)."""
        path = tmp / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(path, enforce_file_format=True)
        r = httpx.post(f"{self.url}/instances", content=path.read_bytes(), timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def push_to_node(self, resources: list[str]) -> dict[str, Any]:
        """What a routing rule does: C-STORE the resources to the node (permissive: go on past
        an instance the node refuses)."""
        r = httpx.post(
            f"{self.url}/modalities/{NODE_MODALITY}/store",
            timeout=60,
            json={"Resources": resources, "Synchronous": True, "Permissive": True},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def study_instances(self, study_uid: str) -> list[dict[str, Any]]:
        """Every instance Orthanc files under this StudyInstanceUID, with its main tags and
        its Orthanc study id (ParentStudy)."""
        r = httpx.post(
            f"{self.url}/tools/find",
            timeout=30,
            json={"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}, "Expand": True},
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    def tags(self, instance_id: str) -> dict[str, Any]:
        """An instance's full header, nested sequences included (Orthanc's simplified JSON)."""
        r = httpx.get(f"{self.url}/instances/{instance_id}/simplified-tags", timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def file(self, instance_id: str) -> bytes:
        """The instance as Orthanc stored it (a DICOM file)."""
        r = httpx.get(f"{self.url}/instances/{instance_id}/file", timeout=30)
        assert r.status_code == 200, r.text
        return r.content

    def series_of(self, instance_id: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/instances/{instance_id}/series", timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())
