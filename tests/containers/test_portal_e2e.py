"""The browser suite (e2e/, Playwright in Debian's Chromium) against the portal and API
containers, as a person uses the product deployed: e2e/conftest.py runs against an existing
stack when MEDSEGTEXT_E2E_PORTAL_URL and MEDSEGTEXT_E2E_API_URL name it (the accounts are
e2e_stack.ACCOUNTS, made by the compose_stack fixture). The tests that need their own stack
(the restart test, the PACS import with its Orthanc, registering a model file by its path)
skip and say so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.containers.compose_stack import ROOT, ComposeStack

pytestmark = pytest.mark.timeout(3600)
LOG = ROOT / "build" / "containers" / "e2e.log"  # the whole run's output
#: a failed test's Playwright trace (its screenshots, console and network: `playwright show-trace`)
TRACES = ROOT / "build" / "containers" / "e2e-failures"


def test_the_browser_suite_against_the_containers(compose_stack: ComposeStack) -> None:
    env = {
        **os.environ,
        "MEDSEGTEXT_E2E_PORTAL_URL": compose_stack.portal_url,
        "MEDSEGTEXT_E2E_API_URL": compose_stack.api_url,
        # the portal image's own ticket lifetime (the e2e stack shortens it to 5 s)
        "MEDSEGTEXT_E2E_TICKET_TTL": "60",
        "MEDSEGTEXT_E2E_BROWSER_ADDRESS": compose_stack.gateway(),
    }
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "e2e", "-q", "-rs", "-p", "no:cacheprovider"),
            *("--tracing", "retain-on-failure", "--output", str(TRACES)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text(run.stdout + run.stderr)
    print(run.stdout[-3000:])
    if run.returncode != 0:  # what the portal and the API logged meanwhile, too
        pytest.fail(
            f"see {LOG} and the traces in {TRACES}: "
            + run.stdout[-6000:]
            + run.stderr[-2000:]
            + compose_stack.logs("frontend")
            + compose_stack.logs("api")
        )
