"""Print, as JSON, every event handler of every portal state and the states' default values.

Run with the portal's interpreter (reflex lives only in frontend/.venv), from frontend/:
``frontend/.venv/bin/python ../e2e/portal_handlers.py``. The isolation test
(test_portal_isolation.py) fires each handler it lists, so a new state or handler is covered
without editing the test.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any


def type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint)


def portal_states(root: Any) -> list[Any]:
    found = [root] if root.__module__.startswith("portal.") else []
    for sub in sorted(root.get_substates(), key=lambda c: c.get_full_name()):
        found.extend(portal_states(sub))
    return found


def main() -> None:
    sys.path.insert(0, str(Path.cwd()))  # the portal's package, in frontend/
    import portal.state
    import reflex as rx

    for module in pkgutil.iter_modules(portal.state.__path__):
        importlib.import_module(f"portal.state.{module.name}")
    root = rx.State.get_root_state()
    states = portal_states(root)
    defaults = root(_reflex_internal_init=True).dict()
    handlers = []
    for state in states:
        for name, handler in sorted(state.event_handlers.items()):
            hints = {} if name == "setvar" else handler._get_type_hints()
            params = (
                []
                if name == "setvar"
                else [
                    {"name": p, "type": type_name(hints.get(p, Any))}
                    for p in list(handler.get_parameters())[1:]
                ]
            )
            handlers.append(
                {
                    "state": state.get_full_name(),
                    "name": name,
                    "params": params,
                    "background": bool(handler.is_background),
                    # the permission portal.state.auth's guard asks of the
                    # user ("": signed in; None: unguarded)
                    "guarded": getattr(handler.fn, "_portal_guarded", None),
                }
            )
    json.dump(
        {
            "root": root.get_full_name(),
            "handlers": handlers,
            "defaults": {s.get_full_name(): defaults.get(s.get_full_name(), {}) for s in states},
        },
        sys.stdout,
        default=str,
    )


if __name__ == "__main__":
    main()
