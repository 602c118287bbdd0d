"""The portal's route table (frontend/portal/routes.py, pure Python): one page per path, the
header's links, and who may open a page, read from the permissions GET /api/me lists (the
backend test test_me_lists_what_the_role_may_do pins what each role gets). The browser side is
e2e/test_portal_isolation.py (every handler admits its page's roles)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "frontend"))

from portal import routes
from portal.routes import ROUTES

CLINICIAN = ["upload_cases"]
REVIEWER = ["review_cases", "see_all_cases"]
ADMIN = ["upload_cases", "review_cases", "see_all_cases", "administer"]


def test_one_page_per_path_and_name() -> None:
    assert len({r.path for r in ROUTES}) == len({r.name for r in ROUTES}) == len(ROUTES)
    assert [r.path for r in ROUTES if r.public] == ["/login"]
    assert routes.CASE.path == "/cases/[cid]" and routes.HOME == "/"
    assert routes.USERS.tab_title == "Users · MedSegText"


def test_the_header_lists_its_links_in_table_order() -> None:
    assert [r.nav for r in ROUTES if r.nav] == [
        "Worklist",
        "New case",
        "PACS",
        "Dashboard",
        "Users",
        "Audit log",
        "Models",
        "Account",
    ]


def test_who_may_open_what() -> None:
    opens = {
        name: [r.name for r in ROUTES if not r.public and r.admits(permissions)]
        for name, permissions in (
            ("clinician", CLINICIAN),
            ("reviewer", REVIEWER),
            ("admin", ADMIN),
            ("nobody", []),
        )
    }
    assert opens["clinician"] == ["worklist", "upload", "case", "account"]
    assert opens["reviewer"] == ["worklist", "case", "pacs", "account"]
    assert opens["admin"] == [r.name for r in ROUTES if not r.public]
    # a signed-in user with no permission at all
    assert opens["nobody"] == ["worklist", "case", "account"]
