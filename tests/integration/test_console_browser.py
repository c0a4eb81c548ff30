"""The admin console in a real headless browser against the local gateway: what a tenant admin
does in it. Each screen is saved under build/screenshots/ for a reviewer."""

from __future__ import annotations

import smtplib
import time
import uuid
import zipfile
from collections.abc import Iterator
from email.utils import formatdate, make_msgid
from io import BytesIO
from pathlib import Path
from urllib.request import urlopen

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.integration.conftest import Gateway
from tests.integration.test_policy_records_api import quarantined
from tests.support.api_client import ApiClient, wait_for
from tests.support.browser import chromium
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


class Console:
    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url

    def find(self, css: str) -> WebElement:
        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, css))

    def wait(self, condition, timeout: float = 20) -> WebElement:  # type: ignore[no-untyped-def]
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(Exception,)).until(condition)

    def text_appears(self, text: str, timeout: float = 20) -> None:
        self.wait(lambda d: text in d.find_element(By.TAG_NAME, "body").text, timeout)

    def sign_in(self, key: str) -> None:
        self.driver.get(self.base_url + "/")
        self.find("#api-key").send_keys(key)
        self.find("#sign-in").click()

    def field(self, name: str, tag: str = "input") -> WebElement:
        return self.find(f'[data-field="{name}"] {tag}')

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture(scope="module")
def tenant(gateway: Gateway) -> Iterator[tuple[str, str, ApiClient]]:
    server = ScriptedServer().start()
    tag = uuid.uuid4().hex[:8]
    tenant_id, domain = f"console-{tag}", f"console-{tag}.test"
    yield tenant_id, domain, gateway.add_tenant(tenant_id, domain, server)
    server.stop()


@pytest.fixture
def console(gateway: Gateway, tmp_path: Path) -> Iterator[Console]:
    driver = chromium(tmp_path)
    try:
        yield Console(driver, gateway.api.base_url)
    finally:
        driver.quit()


def send(gateway: Gateway, recipient: str, subject: str) -> None:
    message = (
        f"From: Alice <alice@sender.test>\r\nTo: {recipient}\r\nDate: {formatdate()}\r\n"
        f"Message-ID: {make_msgid(domain='sender.test')}\r\nSubject: {subject}\r\n\r\nhello\r\n"
    )
    with smtplib.SMTP(*gateway.smtp) as smtp:
        smtp.sendmail("alice@sender.test", [recipient], message)


def delivered(api: ApiClient, subject: str) -> dict | None:  # type: ignore[type-arg]
    status, page = api.search(period="1h", limit=1000)
    assert status == 200, page
    return next(
        (r for r in page["items"] if r["subject"] == subject and r["status"] == "delivered"), None
    )


def test_a_wrong_key_is_refused_with_the_apis_sentence_and_the_right_one_signs_in(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    console.sign_in("not-a-key")
    console.text_appears("Send a valid API key")
    console.shot("sign-in-refused")

    console.find("#api-key").clear()
    console.sign_in(tenant[2].api_key or "")
    console.find("#tracking-search")
    assert "Times are shown in" in console.find("header").text
    console.shot("tracking")


def test_tracking_search_with_filters_opens_the_detail_log(
    gateway: Gateway, console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    _, domain, api = tenant
    subject = f"Quarterly report {uuid.uuid4().hex[:6]}"
    send(gateway, f"john@{domain}", subject)
    send(gateway, f"mary@{domain}", f"Other {subject}")
    row = wait_for(lambda: delivered(api, subject))

    console.sign_in(api.api_key or "")
    recipients = console.field("recipients")
    recipients.send_keys(f"john@{domain}", Keys.ENTER)  # Enter adds a value, not a search
    assert console.find('[data-field="recipients"] .chips').text.startswith(f"john@{domain}")
    console.field("subject").send_keys(subject)
    console.find("#tracking-search").click()

    console.text_appears("1 rows on this page")
    table = console.find(".results table").text
    assert f"john@{domain}" in table and f"mary@{domain}" not in table
    assert "Delivered" in table
    console.find(".open-row").click()
    console.text_appears("Evaluated policies")
    detail = console.find(".detail").text
    assert row["message_id"] in detail and "alice@sender.test" in detail
    assert "Related messages (the same Message-ID) cannot be shown yet" in detail
    console.shot("tracking-detail")

    console.driver.set_window_size(390, 844)
    console.shot("tracking-detail-390px")


def test_a_search_with_no_match_says_so(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    console.sign_in(tenant[2].api_key or "")
    console.field("subject").send_keys("no such subject anywhere")
    console.find("#tracking-search").click()
    console.text_appears("No data to show: nothing matched in the whole period")


def test_switching_the_language_relabels_the_screen(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    console.sign_in(tenant[2].api_key or "")
    console.find("#tracking-search")
    Select(console.find("#language")).select_by_value("ja")
    console.text_appears("メール追跡")
    assert console.find("#tracking-search").text == "検索"
    assert console.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    console.shot("tracking-ja")
    Select(console.find("#language")).select_by_value("en")
    console.text_appears("Mail tracking")

    console.find("#nav-events").click()
    console.find("#events-search").click()
    console.find(".results")
    threats = console.find('[data-field="threats"]').text
    assert "Graymail" in threats and "Domain-based authentication" in threats
    console.shot("events")


def test_releasing_a_quarantined_message_confirms_how_many(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    tenant_id, domain, api = tenant
    entry = quarantined(tenant_id, domain)
    console.sign_in(api.api_key or "")
    console.find("#nav-quarantine").click()
    console.field("subject").send_keys(entry.subject)
    console.find("#quarantine-search").click()
    console.text_appears("1 rows on this page")
    console.shot("quarantine")
    console.find('.results tbody input[type="checkbox"]').click()
    console.find("#quarantine-release-selected").click()
    assert console.find("dialog #confirm-text").text == "Release 1 messages?"
    console.shot("quarantine-confirm")
    console.find("#confirm-yes").click()
    console.text_appears("1 of 1 done.")
    status, detail = api.request("GET", f"/v1/quarantine/{entry.message_uuid}")
    assert status == 200 and detail["state"] in ("releasing", "released")


def test_an_export_downloads_the_selected_rows_and_starts_an_export_of_all(
    gateway: Gateway, console: Console, tenant: tuple[str, str, ApiClient], tmp_path: Path
) -> None:
    _, domain, api = tenant
    subject = f"Export me {uuid.uuid4().hex[:6]}"
    send(gateway, f"john@{domain}", subject)
    wait_for(lambda: delivered(api, subject))
    console.sign_in(api.api_key or "")
    console.field("subject").send_keys(subject)
    console.find("#tracking-search").click()
    console.text_appears("1 rows on this page")
    console.find('.results tbody input[type="checkbox"]').click()
    console.find("#tracking-export-selected").click()
    csv = tmp_path / "tracking_log_accepted.csv"
    wait_for(lambda: csv.exists() and subject in csv.read_text(encoding="utf-8-sig"), timeout=20)

    console.find("#tracking-export-all").click()
    console.text_appears("The export task has started")
    console.text_appears("left today (UTC)")
    console.find("#nav-exports").click()
    console.find("#export-quota")

    def link() -> str | None:
        console.find("#exports-refresh").click()
        time.sleep(1)
        found = console.driver.find_elements(By.CSS_SELECTOR, "a.download")
        return found[0].get_attribute("href") if found else None

    href = wait_for(link, timeout=120, interval=2)
    console.shot("exports")
    with urlopen(href, timeout=30) as response:
        archive = zipfile.ZipFile(BytesIO(response.read()))
    assert subject in archive.read(archive.namelist()[0]).decode("utf-8-sig")


def test_a_validation_error_is_shown_beside_its_field(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    console.sign_in(tenant[2].api_key or "")
    console.find("#nav-settings").click()
    size = console.find('#section-limits input[data-path="max_message_bytes"]')
    size.clear()
    size.send_keys("5")
    console.find('#section-limits button[type="submit"]').click()
    error = console.find("#section-limits .field-error")
    assert error.text.startswith("max_message_bytes: ")
    assert size.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") == size.get_attribute("aria-describedby")
    assert console.driver.execute_script(
        "return arguments[0].previousElementSibling === arguments[1]", error, size
    )
    console.find("#rules-inbound .rule")
    console.shot("settings")
