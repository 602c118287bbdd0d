"""The worklist's view <-> URL round trip and its alert rule (frontend/portal/worklist_query.py,
pure Python: no Reflex needed). The browser side is e2e/test_portal_worklist_live.py."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "frontend"))

from portal.worklist_query import View, alert_reason, parse


def _reparse(url: str) -> View:
    return parse(dict(parse_qsl(urlsplit(url).query)))


def test_a_view_survives_its_url() -> None:
    view = View(
        status="done", priority="stat", review="unreviewed", sort="newest", q="E2E 7", page=3
    )
    url = view.url()
    assert url.startswith("/?") and "status=done" in url and "sort=newest" in url
    assert _reparse(url) == view
    assert view.api_params() == {
        "limit": 20,
        "offset": 40,
        "sort": "newest",
        "status": "done",
        "priority": "stat",
        "review_state": "unreviewed",
        "q": "E2E 7",
    }


def test_defaults_leave_the_address_bare_and_bad_values_fall_back() -> None:
    assert View().url() == "/"
    assert not View().filtered and View(review="edited").filtered
    odd = parse({"status": "deleted", "sort": "-created", "page": "-2", "priority": "stat"})
    assert odd == View(priority="stat")


def test_a_change_of_filter_goes_back_to_page_one() -> None:
    assert View(page=4).with_(status="failed") == View(status="failed")


def test_alert_reasons() -> None:
    assert alert_reason({"priority": "routine", "lesion_present": False}) == ""
    assert alert_reason({"priority": "stat", "lesion_present": None}) == "STAT"
    assert alert_reason({"priority": "urgent"}) == "Urgent"
    assert (
        alert_reason({"priority": "routine", "lesion_present": True, "lesion_probability": None})
        == "abnormal"
    )
    assert (
        alert_reason({"priority": "stat", "lesion_present": True, "lesion_probability": 0.871})
        == "STAT · abnormal, lesion probability 87 %"
    )
