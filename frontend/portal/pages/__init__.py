"""One module per page, next to its state in portal/state/ of the same name (the sign-in page's
is auth.py); a long page's parts are in modules beside it (case_*.py, admin_tokens.py). Each
page module registers its page with @page (portal/page.py); importing this package registers
them all."""

from portal.pages import (
    account,
    admin_models,
    admin_users,
    audit,
    case,
    dashboard,
    login,
    pacs,
    upload,
    worklist,
)

__all__ = [
    "account",
    "admin_models",
    "admin_users",
    "audit",
    "case",
    "dashboard",
    "login",
    "pacs",
    "upload",
    "worklist",
]
