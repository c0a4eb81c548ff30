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
from selenium.webdriver.common.action_chains import ActionChains
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

RELATED_ROUTE = "/v1/tracking/{message_uuid}/related"
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
    if RELATED_ROUTE in api.request("GET", "/v1/openapi.json")[1]["paths"]:
        related = console.find(".detail .related table, .detail .related .empty").text
        assert related
    else:  # the detail says so, instead of showing nothing
        console.text_appears("Related messages (the same Message-ID) cannot be shown")
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


def test_the_screen_clicked_last_is_the_one_shown_when_an_earlier_one_loads_slower(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    console.driver.get(console.base_url + "/")
    console.find("#api-key")
    console.driver.execute_script(  # the first screen's form description comes late
        "const plain = window.fetch; let first = true;"
        "window.fetch = async (url, init) => {"
        "  if (first && String(url).includes('/v1/openapi.json')) {"
        "    first = false; await new Promise((r) => setTimeout(r, 1500)); }"
        "  return plain(url, init); };"
    )
    console.find("#api-key").send_keys(tenant[2].api_key or "")
    console.find("#sign-in").click()
    console.find("#nav-quarantine").click()
    console.find("#quarantine-search")
    time.sleep(3)  # the tracking screen has loaded by now, and may not take the place
    assert console.driver.find_elements(By.CSS_SELECTOR, "#quarantine-search")
    assert not console.driver.find_elements(By.CSS_SELECTOR, "#tracking-search")
    current = console.find('nav a[aria-current="page"]')
    assert current.get_attribute("id") == "nav-quarantine"


def test_releasing_a_quarantined_message_confirms_how_many(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    tenant_id, domain, api = tenant
    entry = quarantined(tenant_id, domain)
    console.sign_in(api.api_key or "")
    console.find("#nav-quarantine").click()
    search = console.find("#quarantine-search")  # else "subject" may still be the tracking one
    console.field("subject").send_keys(entry.subject)
    search.click()
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


def settings(console: Console, api: ApiClient) -> None:
    console.sign_in(api.api_key or "")
    console.find("#tracking-search")
    console.find("#nav-settings").click()
    console.find("#rules-inbound .rule")


def test_a_validation_error_is_shown_beside_its_field_in_a_nested_section(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    api = tenant[2]
    settings(console, api)
    form = "#section-limits"
    console.find(f'{form} input[type="checkbox"][data-path="inbound.count_ip"]').click()
    console.find(f'{form} input[data-path="inbound.count_ip.limit"]').send_keys("100")
    window = console.find(f'{form} input[data-path="inbound.count_ip.window_s"]')
    window.send_keys("5")
    console.find(f'{form} button[type="submit"]').click()

    error = console.find(f"{form} .field-error")
    assert error.text == (
        "config.limits.inbound.count_ip.window_s: Input should be greater than or equal to 60."
    )
    assert window.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in (window.get_attribute("aria-describedby") or "")
    assert console.driver.execute_script(
        "return arguments[1].closest('.field').contains(arguments[0])", error, window
    )
    assert console.driver.switch_to.active_element == window
    console.shot("settings-nested-error")

    window.clear()
    window.send_keys("3600")
    console.find(f'{form} button[type="submit"]').click()
    console.text_appears("Saved (version")
    assert not console.driver.find_elements(By.CSS_SELECTOR, f"{form} .field-error")
    document = api.request("GET", "/v1/config")[1]
    assert document["config"]["limits"]["inbound"]["count_ip"] == {"limit": 100, "window_s": 3600}
    assert document["config"]["limits"]["inbound"]["size_ip"] is None


def test_a_change_made_elsewhere_meanwhile_is_reported_not_overwritten(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    api = tenant[2]
    settings(console, api)
    status, _ = api.request("PUT", "/v1/config/reverse_dns", {"enabled": True})
    assert status == 200
    blocked = console.find('#section-sender_filter textarea[data-path="blocked_senders"]')
    blocked.send_keys("spam@bad.test")
    console.find('#section-sender_filter button[type="submit"]').click()
    error = console.find("#section-sender_filter .field-error")
    assert "is no longer at version" in error.text
    assert api.request("GET", "/v1/config")[1]["config"]["reverse_dns"]["enabled"] is True
    console.shot("settings-conflict")

    error.find_element(By.CSS_SELECTOR, "button.reload").click()
    checkbox = console.find('#section-reverse_dns input[data-path="enabled"]')
    assert checkbox.is_selected()  # the form now shows the other change
    blocked = console.find('#section-sender_filter textarea[data-path="blocked_senders"]')
    blocked.send_keys("spam@bad.test")
    console.find('#section-sender_filter button[type="submit"]').click()
    console.text_appears("Saved (version")
    config = api.request("GET", "/v1/config")[1]["config"]
    assert config["sender_filter"]["blocked_senders"] == ["spam@bad.test"]
    assert config["reverse_dns"]["enabled"] is True


def rule_order(api: ApiClient) -> list[tuple[str, bool]]:
    status, listing = api.request("GET", "/v1/policies/inbound")
    assert status == 200
    return [(r["name"], r["enabled"]) for r in listing["rules"]]


def new_rule(console: Console, name: str) -> WebElement:
    console.find("#new-rule-inbound").click()
    form = console.find("#rules-inbound .new-rule-form")
    form.find_element(By.CSS_SELECTOR, 'input[data-path="name"]').send_keys(name)
    return form


def add_condition(console: Console, form: WebElement, kind: str) -> str:
    """Adds a condition of ``kind``; returns its path (``conditions[n]``)."""
    form.find_element(By.CSS_SELECTOR, "button.add[aria-label='Add to Conditions']").click()
    selects = form.find_elements(By.CSS_SELECTOR, 'select[data-path^="conditions["]')
    select = [s for s in selects if s.get_attribute("data-path").endswith("]")][-1]
    Select(select).select_by_value(kind)
    return select.get_attribute("data-path") or ""


def test_a_rule_is_created_with_conditions_then_reordered_and_disabled(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    api = tenant[2]
    settings(console, api)
    form = new_rule(console, "Invoices with macros")
    first = add_condition(console, form, "attachment_name")
    form.find_element(
        By.CSS_SELECTOR, f'textarea[data-path="{first}.attachment_name.names"]'
    ).send_keys("invoice*.docm")
    second = add_condition(console, form, "header_keywords")
    header = form.find_element(
        By.CSS_SELECTOR, f'input[data-path="{second}.header_keywords.header"]'
    )
    header.send_keys("X Mailer:")  # not a header field name
    form.find_element(
        By.CSS_SELECTOR, f'textarea[data-path="{second}.header_keywords.keywords.values"]'
    ).send_keys("bulk")
    Select(form.find_element(By.CSS_SELECTOR, 'select[data-path="match"]')).select_by_value("all")
    Select(
        form.find_element(By.CSS_SELECTOR, 'select[data-path="actions.intercept"]')
    ).select_by_value("quarantine")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()

    error = console.find("#rules-inbound .new-rule-form .field-error")
    assert error.text.startswith(f"{second}.header_keywords.header: String should match pattern")
    assert console.driver.execute_script(
        "return arguments[1].closest('.field').contains(arguments[0])", error, header
    )
    console.shot("settings-rule-error")
    header.clear()
    header.send_keys("X-Mailer")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    console.text_appears("The rule is added.")
    (created,) = [
        r
        for r in api.request("GET", "/v1/policies/inbound")[1]["rules"]
        if r["name"] == "Invoices with macros"
    ]
    assert created["match"] == "all" and created["actions"]["intercept"] == {"action": "quarantine"}
    assert created["conditions"] == [
        {"type": "attachment_name", "names": ["invoice*.docm"]},
        {
            "type": "header_keywords",
            "header": "X-Mailer",
            "keywords": {"values": ["bulk"], "regex": False},
        },
    ]

    form = new_rule(console, "Big mail")
    add_condition(console, form, "message_size")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    console.text_appears("The rule is added.")
    console.wait(lambda d: "Big mail" in d.find_element(By.CSS_SELECTOR, "#rules-inbound").text)
    names = [name for name, _ in rule_order(api)]
    assert names.index("Invoices with macros") < names.index("Big mail")

    # Keyboard: focus "move up" of the last content rule and press Enter; focus follows it.
    up = console.find('#rules-inbound [data-rule] .move-up[aria-label="Move Big mail up"]')
    up.send_keys(Keys.ENTER)
    console.wait(
        lambda d: (
            [n for n, _ in rule_order(api)].index("Big mail")
            < [n for n, _ in rule_order(api)].index("Invoices with macros")
        )
    )
    console.text_appears("The order is saved.")
    up = console.find('#rules-inbound .move-up[aria-label="Move Big mail up"]')
    assert up.get_attribute("disabled")  # the first of its category now
    # so the focus went to the rule's next control, still on the rule that moved
    assert console.driver.switch_to.active_element.get_attribute("aria-label") == "Edit Big mail"
    # a virus rule runs first whatever the tenant's order: its buttons cannot cross categories
    virus = console.find('#rules-inbound [data-rule="default-inbound-virus"] .move-down')
    assert virus.get_attribute("disabled")

    row = next(
        r
        for r in console.driver.find_elements(By.CSS_SELECTOR, "#rules-inbound li.rule")
        if "Invoices with macros" in r.text
    )
    row.find_element(By.CSS_SELECTOR, "input.enabled").send_keys(Keys.SPACE)
    console.wait(lambda d: ("Invoices with macros", False) in rule_order(api))
    console.wait(
        lambda d: (
            "Invoices with macros"
            in d.find_element(By.CSS_SELECTOR, '#rules-inbound li[data-enabled="false"]').text
        )
    )
    console.shot("settings-rules")


# Everything a user can operate, outside the tables (which scroll in their own region), and
# whether it lies within the viewport's width.
OFF_SCREEN_CONTROLS = """
const width = document.documentElement.clientWidth;
return [...document.querySelectorAll('a, button, input, select, textarea')]
  .filter((el) => el.getClientRects().length && !el.closest('.table-wrap, .skip'))
  .filter((el) => {
    const r = el.getBoundingClientRect();
    return r.left < 0 || r.right > width + 0.5;
  })
  .map((el) => el.id || el.dataset.path || el.getAttribute('aria-label') || el.textContent);
"""


def test_at_390_px_nothing_scrolls_sideways_and_every_control_is_within_reach(
    console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    console.driver.set_window_size(390, 844)
    console.driver.get(console.base_url + "/")
    console.find("#api-key")
    for name in ("sign-in", "tracking", "events", "quarantine", "exports", "settings"):
        if name == "tracking":
            console.find("#api-key").send_keys(tenant[2].api_key or "")
            console.find("#sign-in").click()
        if name != "sign-in":
            console.find(f"#nav-{name}").click()
        console.find("main h1")
        if name == "settings":
            console.find("#rules-inbound .rule")
            console.find("#section-domain_auth")
        else:
            time.sleep(0.3)
        width = console.driver.execute_script("return document.documentElement.clientWidth")
        assert width <= 390
        scroll = console.driver.execute_script("return document.documentElement.scrollWidth")
        assert scroll <= width, f"{name}: the page scrolls sideways ({scroll} > {width} px)"
        assert console.driver.execute_script(OFF_SCREEN_CONTROLS) == [], name
        console.shot(f"{name}-390px")


def tab_to(console: Console, wanted: str, limit: int = 120) -> WebElement:
    """Presses Tab until the focused element matches the CSS selector ``wanted``; checks that
    each element on the way shows where the focus is."""
    for _ in range(limit):
        ActionChains(console.driver).send_keys(Keys.TAB).perform()
        focused = console.driver.switch_to.active_element
        if focused.tag_name == "body":  # the page itself, before the first control
            continue
        outline = console.driver.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth]",
            focused,
        )
        assert outline[0] != "none" and outline[1] != "0px", focused.get_attribute("outerHTML")
        if console.driver.execute_script(
            "return arguments[0].matches(arguments[1])", focused, wanted
        ):
            return focused
    raise AssertionError(f"Tab never reached {wanted}")


def test_sign_in_search_and_the_detail_with_the_keyboard_only(
    gateway: Gateway, console: Console, tenant: tuple[str, str, ApiClient]
) -> None:
    _, domain, api = tenant
    subject = f"Keyboard walk {uuid.uuid4().hex[:6]}"
    send(gateway, f"kim@{domain}", subject)
    wait_for(lambda: delivered(api, subject))

    console.driver.get(console.base_url + "/")
    console.find("#api-key")
    keys = ActionChains(console.driver)
    tab_to(console, "#api-key")
    keys.send_keys(api.api_key or "", Keys.ENTER).perform()
    console.find("#tracking-search")

    tab_to(console, '[data-field="subject"] input')
    ActionChains(console.driver).send_keys(subject, Keys.ENTER).perform()
    console.text_appears("1 rows on this page")

    opener = tab_to(console, ".results .open-row")
    opener.send_keys(Keys.ENTER)
    console.text_appears("Evaluated policies")
    assert "kim@" in console.driver.switch_to.active_element.text  # the detail has the focus
    console.shot("keyboard-detail")
    tab_to(console, ".detail button.close").send_keys(Keys.ENTER)
    assert console.driver.switch_to.active_element == opener
