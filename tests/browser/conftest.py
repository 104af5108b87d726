"""Browser-test infrastructure: a real daphne serving the test database, an Ollama stand-in, and
Playwright driving Debian's chromium (never a downloaded browser).

Tests ask for `live_site` (base `.url`, the stand-in as `.ollama`) and `page`; both come with
`transactional_db`, so rows a test writes are committed where daphne can read them. A test
parametrizes `context_options` (see SCREENS) for a phone or desktop window, light or dark.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from chatsite.accounts.models import User
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.ollama_standin import OllamaStandin, running_standin
from tests.site_process import SiteFailed, start_site

ROOT = Path(__file__).resolve().parents[2]
PAGE_TIMEOUT_MS = 10_000
DAPHNE_LOG = pytest.StashKey[Path]()


# A title as long as a talkative model or a user can make it, and one without a place to wrap.
LONG_TITLE = (
    "Planning a three week rail trip through Portugal and Spain with their two children, "
    "a dog, a cello and much more luggage"
)
UNBROKEN_TITLE = (
    "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2 + "Floccinaucinihilipilifications"
)
assert len(LONG_TITLE) == len(UNBROKEN_TITLE) == 120


# The windows the layout is tested in: a phone held upright and a laptop, each light and dark.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}}
SCREENS = [
    pytest.param({**window, "color_scheme": scheme}, id=f"{name}-{scheme}")
    for name, window in (("phone", PHONE), ("desktop", DESKTOP))
    for scheme in ("light", "dark")
]


def fits_window(page: Page) -> bool:
    """No horizontal scroll: the page is no wider than the window."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@dataclass(frozen=True)
class LiveSite:
    url: str
    ollama: OllamaStandin

    def at(self, path: str) -> str:
        return self.url + path


def _database_url() -> str:
    """The test database (created by pytest-django) as DATABASE_URL for the daphne process."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    configured = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(configured._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def browser_ollama() -> Iterator[OllamaStandin]:
    """One stand-in for the session, so daphne keeps its OLLAMA_HOST; reset before each test."""
    with running_standin() as standin:
        yield standin


@pytest.fixture(scope="session")
def daphne_server(
    request: pytest.FixtureRequest,
    django_db_setup: None,
    browser_ollama: OllamaStandin,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A real daphne on a free port, sharing the test database; yields its base URL."""
    data_dir = tmp_path_factory.mktemp("site-data")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DATA_DIR": str(data_dir),
        # The same key as this process, so sessions made here (sign_in) are valid there too.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        "OLLAMA_HOST": browser_ollama.url,
        # The stand-in is reset for every test: the site must not show the last test's models.
        "OLLAMA_MODELS_CACHE_SECONDS": "0",
        # Browser tests sign in and out a lot from one address; keep the lockout out of the way.
        "LOGIN_FAILURE_LIMIT": "10000",
    }
    # With DEBUG off, whitenoise serves what collectstatic put in STATIC_ROOT (DATA_DIR/static).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = data_dir / "daphne.log"
    request.config.stash[DAPHNE_LOG] = log
    try:
        site = start_site(env, log)
    except SiteFailed as failure:
        pytest.fail(str(failure))
    try:
        yield site.url
    finally:
        site.stop()


@pytest.fixture
def live_site(
    transactional_db: None, daphne_server: str, browser_ollama: OllamaStandin
) -> LiveSite:
    browser_ollama.reset()
    return LiveSite(url=daphne_server, ollama=browser_ollama)


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Debian's chromium, started per test.

    Playwright's sync API keeps an event loop running in this thread, which Django's ORM takes
    for async code; the test body's ORM calls are plain sync code, so they are allowed while
    the browser is up. Per test (not per session) so no other test runs under that allowance.
    """
    if not Path(CHROMIUM).exists():
        message = f"chromium not found at {CHROMIUM}: install Debian's chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
            # With that loop running, Django keeps the test body's connection apart from the
            # thread's own; it would outlive the tests (PostgreSQL then refuses to drop the test
            # database: "being accessed by other users"). Closed here, while the loop runs.
            connections.close_all()


# Every page the browser tests open reports what the Content-Security-Policy blocked. Init
# scripts and bindings come from the browser's debugging protocol, which the policy does not cover.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"} ` +
    `at ${event.sourceFile || document.URL}:${event.lineNumber} ${event.sample}`);
});
"""


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Playwright's new_context options for `page` (viewport, color_scheme...): none by default;
    a test parametrizes this name with one of SCREENS."""
    return {}


@pytest.fixture
def page(chromium: Browser, live_site: LiveSite, context_options: dict[str, Any]) -> Iterator[Page]:
    """A fresh browser context and page per test (no cookies carried between tests).

    A test whose pages broke the Content-Security-Policy fails, with what was blocked.
    """
    context = chromium.new_context(base_url=live_site.url, **context_options)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    violations: list[str] = []
    context.expose_binding("reportCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    context.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield context.new_page()
        for open_page in context.pages:  # a round trip delivers reports still on their way
            with contextlib.suppress(PlaywrightError):
                open_page.evaluate("0")
    finally:
        context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


@pytest.fixture
def sign_in(page: Page, live_site: LiveSite) -> Callable[[User], None]:
    """Sign a user in without the form: their session cookie goes into the page's context."""

    def sign_in_as(user: User) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_site.url}]
        )

    return sign_in_as


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where tests save pictures: a temporary folder, or docs/ under `make screenshots`, so
    `make test` leaves the tree as it found it."""
    if os.environ.get("CHATSITE_SCREENSHOTS", "").lower() == "docs":
        return ROOT / "docs"
    return tmp_path


@pytest.fixture
def fast_password_hasher() -> None:
    """Overrides the suite's MD5 hasher: daphne checks passwords with the default hashers."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """On a failing browser test, show what daphne logged."""
    report = yield
    log = item.config.stash.get(DAPHNE_LOG, None)
    if report.failed and log is not None and log.exists():
        report.sections.append(("daphne log", log.read_text(errors="replace")[-20_000:]))
    return report
