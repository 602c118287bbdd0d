"""The portal's route table: every page's address, title, who may open it, and its link in the
header, in one place (the header's links follow this order).

Who may open a page is a permission as GET /api/me lists it, never a role: which role may do
what is the API's to say (backend/accounts/enums.py), and the portal reads it at sign-in.
Pure Python (no Reflex), so the table and its rule are tested without the portal's venv.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

# the API's permission names (GET /api/me "permissions")
UPLOAD_CASES = "upload_cases"
REVIEW_CASES = "review_cases"
ADMINISTER = "administer"
SIGNED_IN = ""  # no permission needed beyond a signed-in session
APP_NAME = "MedSegText"


@dataclass(frozen=True)
class Route:
    name: str  # the page's id: AuthState.current_page while a tab shows it (polling checks it)
    path: str
    title: str
    permission: str = SIGNED_IN  # what /api/me must list to open it
    nav: str = ""  # its link in the header, if it has one
    public: bool = False  # open to a tab that is not signed in (the sign-in page alone)

    @property
    def tab_title(self) -> str:
        return f"{self.title} · {APP_NAME}"

    def admits(self, permissions: Collection[str]) -> bool:
        """Whether a signed-in user with these permissions may open the page."""
        return allows(self.permission, permissions)


def allows(permission: str, granted: Collection[str]) -> bool:
    """The portal's one rule (its guard's too): `permission` is among what /api/me granted, or
    no permission is needed."""
    return permission == SIGNED_IN or permission in granted


LOGIN = Route("login", "/login", "Sign in", public=True)
WORKLIST = Route("worklist", "/", "Worklist", nav="Worklist")
UPLOAD = Route("upload", "/upload", "New case", UPLOAD_CASES, nav="New case")
CASE = Route("case", "/cases/[cid]", "Case")
PACS = Route("pacs", "/pacs", "PACS", REVIEW_CASES, nav="PACS")  # search and import studies
DASHBOARD = Route("admin-dashboard", "/admin", "Dashboard", ADMINISTER, nav="Dashboard")
USERS = Route("admin-users", "/admin/users", "Users", ADMINISTER, nav="Users")
AUDIT = Route("admin-audit", "/admin/audit", "Audit log", ADMINISTER, nav="Audit log")
MODELS = Route("admin-models", "/admin/models", "Models", ADMINISTER, nav="Models")
ACCOUNT = Route("account", "/account", "Account", nav="Account")

ROUTES = (LOGIN, WORKLIST, UPLOAD, CASE, PACS, DASHBOARD, USERS, AUDIT, MODELS, ACCOUNT)
HOME = WORKLIST.path  # where a tab goes that may not open a page
