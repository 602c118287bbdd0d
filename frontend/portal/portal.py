"""The MedSegText portal app: pages, their on_load events, the /media routes, and the guard
(security headers, the browser cookie, the /_upload gate) around the whole backend."""

from __future__ import annotations

import reflex as rx

from portal import guard, media
from portal.components.viewer import viewer_script
from portal.pages import account, admin, admin_models, case, login, upload, worklist
from portal.state.account import AccountState
from portal.state.admin_models import ModelsState
from portal.state.admin_users import AdminUsersState
from portal.state.audit import AuditState
from portal.state.auth import AuthState
from portal.state.case import CaseState
from portal.state.dashboard import DashboardState
from portal.state.upload import UploadState
from portal.state.worklist import WorklistState

app = rx.App(
    stylesheets=["/styles.css"],
    # media.routes() mounts the Reflex backend under the /media routes; PortalGuard wraps both
    api_transformer=[media.routes(), guard.PortalGuard],
    head_components=[rx.el.meta(name="robots", content="noindex"),
                     rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
                     viewer_script()],
)
# leftover export files of an earlier run, then expired links and their files
app.register_lifespan_task(media.housekeeping)

app.add_page(login.page, route="/login", title="Sign in · MedSegText",
             on_load=AuthState.open_login)
app.add_page(worklist.page, route="/", title="Worklist · MedSegText",
             on_load=WorklistState.load)
app.add_page(upload.page, route="/upload", title="New case · MedSegText",
             on_load=UploadState.load)
app.add_page(case.page, route="/cases/[cid]", title="Case · MedSegText", on_load=CaseState.load)
app.add_page(admin.dashboard, route="/admin", title="Dashboard · MedSegText",
             on_load=DashboardState.load)
app.add_page(admin.users, route="/admin/users", title="Users · MedSegText",
             on_load=AdminUsersState.load)
app.add_page(admin.audit, route="/admin/audit", title="Audit log · MedSegText",
             on_load=AuditState.load)
app.add_page(admin_models.page, route="/admin/models", title="Models · MedSegText",
             on_load=ModelsState.load)
app.add_page(account.page, route="/account", title="Account · MedSegText",
             on_load=AccountState.load)
