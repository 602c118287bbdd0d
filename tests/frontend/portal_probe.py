"""Run by tests/frontend/test_portal_states.py with the portal's interpreter (reflex lives only
in frontend/.venv), from frontend/: prints, as JSON, the pages the app registered and what the
confirmation step of a state does, so the test asserts on the real Reflex states."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def handler(state: Any, name: str) -> Any:
    """The handler without the sign-in guard (portal/state/auth.py wraps it with functools)."""
    return type(state).event_handlers[name].fn.__wrapped__


def confirm_steps(root: Any) -> list[dict[str, Any]]:
    from portal.state.admin_models import ModelsState
    from portal.state.models import ModelRow

    models = root.get_substate(ModelsState.get_full_name().split(".")[1:])
    models.models = [
        ModelRow(id=1, name="segfind", version="2.0.0", status="registered"),
        ModelRow(id=2, name="segfind", version="1.1.0", status="active"),
    ]
    seen = []

    def look(step: str) -> None:
        seen.append(
            {
                "step": step,
                "open": models.confirm_open,
                "title": models.confirm_title,
                "label": models.confirm_label,
                "pending": dict(models._pending),
            }
        )

    handler(models, "ask")(models, 1, "activate")
    look("ask")
    handler(models, "set_confirm_open")(models, False)
    look("cancel")
    handler(models, "ask")(models, 1, "explode")
    look("unknown action")
    return seen


def main() -> None:
    sys.path.insert(0, str(Path.cwd()))
    import portal.portal
    import reflex as rx
    from portal.page import PAGES

    pages = [
        {
            "path": p.route.path,
            "title": p.route.tab_title,
            "state": p.on_load.state_full_name.rsplit(".", 1)[-1],
            "on_load": p.on_load.fn.__name__,
            # what the guard asks of a tab before the load runs (None: public)
            "guard": getattr(p.on_load.fn, "_portal_guarded", None),
        }
        for p in PAGES
    ]
    registered = sorted(portal.portal.app._unevaluated_pages)
    root = rx.State(_reflex_internal_init=True)
    json.dump(
        {"pages": pages, "registered": registered, "confirm": confirm_steps(root)}, sys.stdout
    )


if __name__ == "__main__":
    main()
