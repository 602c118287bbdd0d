"""The compose stack for tests/containers: opt-in (`make compose-test` sets
MEDSEGTEXT_CONTAINER_TESTS=1) as it takes minutes, and skipped, naming what is missing, where
no Docker engine or no built images are at hand."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.containers.compose_stack import ComposeStack, docker_missing


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    ours = [item for item in items if str(item.path).startswith(here)]
    if not ours:
        return
    reason = (
        None
        if os.environ.get("MEDSEGTEXT_CONTAINER_TESTS") == "1"
        else "the container stack runs under `make compose-test` "
        "(MEDSEGTEXT_CONTAINER_TESTS=1), not in the default test run"
    )
    reason = reason or docker_missing()
    if reason:
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def compose_stack() -> Iterator[ComposeStack]:
    stack = ComposeStack()
    stack.down(volumes=True)  # what an earlier, interrupted run left
    try:
        stack.startup = stack.up()
        stack.make_accounts()
        yield stack
    finally:
        stack.down(volumes=True)
