"""Debian's chromium, headless, driven by Selenium through the system chromedriver: nothing is
downloaded when the tests run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

MISSING = (
    "The console's browser tests need Debian's chromium and chromium-driver: run `make browser` "
    "(or set MAILGATE_CHROMIUM and MAILGATE_CHROMEDRIVER to their paths)."
)


def chromium(download_dir: Path, width: int = 1280) -> webdriver.Chrome:
    """A headless chromium, or a failure saying what is missing under ``make test``
    (MAILGATE_BROWSER_REQUIRED), a skip saying so elsewhere."""
    browser = os.environ.get("MAILGATE_CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("MAILGATE_CHROMEDRIVER") or shutil.which("chromedriver")
    if not browser or not driver:
        if os.environ.get("MAILGATE_BROWSER_REQUIRED"):
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # containers run the tests as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "intl.accept_languages": "en-US",
        },
    )
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))
