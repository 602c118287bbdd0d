"""The product running in its containers (compose.yaml + compose.local.yaml, the images of
`make images`): every service goes healthy, a real chest film goes from upload to findings
through the API and the worker container, and every piece of it (case, findings, stored film
and mask) survives `down` and `up` on the volumes."""

from __future__ import annotations

import io
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.containers.compose_stack import ONE_OFFS, SERVICES, ComposeStack, wait_done

pytestmark = pytest.mark.timeout(1800)


def test_every_service_goes_healthy(compose_stack: ComposeStack) -> None:
    startup = compose_stack.startup
    print(
        "seconds from `up` to healthy / exited 0:",
        {name: round(s) for name, s in sorted(startup.items(), key=lambda kv: kv[1])},
    )
    assert set(startup) == set(SERVICES) | set(ONE_OFFS)
    assert httpx.get(f"{compose_stack.api_url}/api/health", timeout=10).status_code == 200
    portal = httpx.get(compose_stack.portal_url, timeout=10)
    # the app shell of the production build (the pages render in the browser: tests/containers/
    # test_portal_e2e.py)
    assert portal.status_code == 200 and "__reactRouterContext" in portal.text, portal.text[:300]
    # what compose declares read-only runs so (deploy/containers.py: the API, the worker)
    for service in ("api", "worker"):
        assert compose_stack.inspect(service, "HostConfig")["ReadonlyRootfs"] is True, service


def test_a_film_through_the_containers_and_back_after_down_and_up(
    compose_stack: ComposeStack, shared_data
) -> None:
    clinician = compose_stack.headers("clinician")
    with httpx.Client(base_url=compose_stack.api_url, timeout=30) as api:
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
        case = wait_done(api, case_id, clinician, 300)
        print(f"upload to {case['status']} in {time.monotonic() - start:.1f} s")
        assert case["status"] == "done", case
        assert case["model_name"] == "medsegtext-segfind"
        mask = api.get(f"/api/cases/{case_id}/mask", headers=clinician)
        assert mask.status_code == 200 and mask.headers["content-type"] == "image/png"
        pred = np.asarray(Image.open(io.BytesIO(mask.content))) > 0
        true = np.asarray(Image.open(shared_data / "qata-cov19" / "masks" / "mask_covid_1.png")) > 0
        assert 2 * (pred & true).sum() / (pred.sum() + true.sum()) > 0.5
        image = api.get(f"/api/cases/{case_id}/image", headers=clinician)
        assert image.status_code == 200

    compose_stack.down()  # the volumes stay
    restart = compose_stack.up()
    print("after down/up, seconds to healthy:", {k: round(v) for k, v in restart.items()})
    clinician = compose_stack.headers("clinician")
    with httpx.Client(base_url=compose_stack.api_url, timeout=30) as api:
        again = api.get(f"/api/cases/{case_id}", headers=clinician).json()
        # PostgreSQL's volume kept the case and its findings, the stand-in's volume the film
        # and the mask (S3) and the prediction record (DynamoDB)
        assert again["status"] == "done" and again["findings_text"] == case["findings_text"]
        assert api.get(f"/api/cases/{case_id}/mask", headers=clinician).content == mask.content
        assert api.get(f"/api/cases/{case_id}/image", headers=clinician).content == image.content
