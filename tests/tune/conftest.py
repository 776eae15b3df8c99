"""The study widget's browser test uses the browser tests' servers and guarded pages."""

from tests.browser.conftest import browser, lab, page, pytest_runtest_makereport  # noqa: F401
from tests.tune.postgres import postgres  # noqa: F401
