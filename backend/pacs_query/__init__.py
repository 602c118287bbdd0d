"""pacs_query domain: a reviewer or admin searches the PACS and imports studies (issue 16).

The search is a C-FIND (Study Root) at the configured PACS; an import is a C-MOVE of one study
to the node's own AE title, so the PACS sends its instances to the DICOM node by C-STORE and
each becomes a case exactly as a routed study does (backend.dicom_node: screen, de-identified
case, identity map, job). Modules: scu (the DIMSE calls), service (checks, audit), controller
(/api/pacs). CONTROLLERS is loaded on first use, so importing the package needs no web layer.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "CONTROLLERS":
        from backend.pacs_query.controller import CONTROLLERS

        return CONTROLLERS
    raise AttributeError(name)
