"""Fixtures of the real-browser tests: servers on 127.0.0.1 and guarded Chromium pages.

Browser tests never skip: a missing Chromium fails them, since CI installs it
(``.ci/run``). Servers are stopped even when a test fails.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageGuard,
    Server,
    copy_notebooks,
    guard_page,
    screenshot,
    start_lab,
    start_voila,
)
from tests.conftest import budget_ms


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def lab(tmp_path_factory) -> Iterator[Server]:
    """JupyterLab serving a temporary copy of notebooks/ (tests add their own notebooks).

    Package-scoped: the server and the kernels its tests started stop when the
    browser tests end, so they do not load the machine for the rest of the run.
    """
    root = copy_notebooks(tmp_path_factory.mktemp("lab-root"))
    server = start_lab(root, tmp_path_factory.mktemp("lab-home"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def voila(tmp_path_factory) -> Iterator[Server]:
    """Standalone Voila serving a temporary copy of notebooks/dashboards/ (as `make dashboard`)."""
    root = copy_notebooks(tmp_path_factory.mktemp("voila-root")) / "dashboards"
    root.mkdir(exist_ok=True)
    server = start_voila(root, tmp_path_factory.mktemp("voila-home"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser():
    """One headless Debian Chromium for the browser tests, driven by playwright.

    Package-scoped, not session-scoped: playwright's sync API leaves its event
    loop marked as running on the main thread while it is open, so the tests
    that run after this package (``asyncio.run`` in tests/serving) need it closed.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def guarded_page(request, browser, server: Server):
    """Generator behind the page fixtures: a guarded page on ``server``, checked at teardown."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Waits that name no timeout get this one, scaled like every budget.
    context.set_default_timeout(budget_ms(60_000))
    page = context.new_page()
    guard = guard_page(page, server.base)
    page.kino_guard = guard
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-120:]
            # The page may be gone; the screenshot is only a help.
            with contextlib.suppress(Exception):
                screenshot(page, f"failed-{name}")
        problems = guard.take()
        context.close()
        if problems:
            pytest.fail("browser reported problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(request, browser, lab):
    """A Chromium page on the JupyterLab server; the test fails on any console error,
    uncaught exception or request that leaves 127.0.0.1 (``page.kino_guard`` holds them)."""
    yield from guarded_page(request, browser, lab)


@pytest.fixture
def voila_page(request, browser, voila):
    """Like ``page``, for the Voila server."""
    yield from guarded_page(request, browser, voila)


@pytest.fixture
def guard(page) -> PageGuard:
    """The problems recorder of ``page`` (for tests that expect and inspect problems)."""
    return page.kino_guard


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def artifacts_dir() -> Path:
    from tests.browser.harness import ARTIFACTS

    return ARTIFACTS
