"""The product running in its containers (compose.yaml + compose.local.yaml, the images of
`make images`; not the portal, see compose_stack.SERVICES): every service goes healthy, a real
chest film goes from upload to findings through the API and the worker container, and the data
survive `down` and `up` on volumes."""

from __future__ import annotations

import io
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.containers.compose_stack import ONE_OFFS, SERVICES, ComposeStack

pytestmark = pytest.mark.timeout(1800)


def test_every_service_goes_healthy(compose_stack: ComposeStack) -> None:
    startup = compose_stack.startup
    print(
        "seconds from `up` to healthy / exited 0:",
        {name: round(s) for name, s in sorted(startup.items(), key=lambda kv: kv[1])},
    )
    assert set(startup) == set(SERVICES) | set(ONE_OFFS)
    r = httpx.get(f"{compose_stack.api_url}/api/health", timeout=10)
    assert r.status_code == 200


def sign_in(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    r = api.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    api.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_a_film_through_the_containers_and_back_after_down_and_up(
    compose_stack: ComposeStack, shared_data
) -> None:
    with httpx.Client(base_url=compose_stack.api_url, timeout=30) as api:
        admin = sign_in(api, compose_stack.admin_email, compose_stack.admin_password)
        password = "Clinician-" + compose_stack.admin_password
        r = api.post(
            "/api/admin/users",
            headers=admin,
            json={
                "email": "clinician@compose-test.example.org",
                "password": password,
                "role": "clinician",
                "full_name": "Compose Test",
            },
        )
        assert r.status_code == 201, r.text
        clinician = sign_in(api, "clinician@compose-test.example.org", password)
        film = (shared_data / "qata-cov19" / "images" / "covid_1.png").read_bytes()
        r = api.post(
            "/api/cases",
            headers=clinician,
            files={"file": ("covid_1.png", film, "image/png")},
            data={"priority": "urgent", "patient_ref": "COMPOSE-1"},
        )
        assert r.status_code == 202, r.text
        case_id = r.json()["id"]
        start = time.monotonic()
        while (case := api.get(f"/api/cases/{case_id}", headers=clinician).json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() - start < 300, case
            time.sleep(1)
        print(f"upload to {case['status']} in {time.monotonic() - start:.1f} s")
        assert case["status"] == "done", case
        assert case["model_name"] == "medsegtext-segfind"
        mask = api.get(f"/api/cases/{case_id}/mask", headers=clinician)
        assert mask.status_code == 200 and mask.headers["content-type"] == "image/png"
        pred = np.asarray(Image.open(io.BytesIO(mask.content))) > 0
        true = np.asarray(Image.open(shared_data / "qata-cov19" / "masks" / "mask_covid_1.png")) > 0
        assert 2 * (pred & true).sum() / (pred.sum() + true.sum()) > 0.5

    compose_stack.down()  # the volumes stay
    restart = compose_stack.up()
    print("after down/up, seconds to healthy:", {k: round(v) for k, v in restart.items()})
    with httpx.Client(base_url=compose_stack.api_url, timeout=30) as api:
        clinician = sign_in(api, "clinician@compose-test.example.org", password)
        again = api.get(f"/api/cases/{case_id}", headers=clinician).json()
        # PostgreSQL's volume kept the case and its findings (moto, the S3 stand-in, keeps
        # images in memory only: compose.yaml says so).
        assert again["status"] == "done" and again["findings_text"] == case["findings_text"]
