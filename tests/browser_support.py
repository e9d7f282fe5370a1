"""Headless chromium for the dashboard tests, or a skip saying what is missing."""

import os
import shutil

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
DRIVERS = ("chromedriver",)


def _find(names, extra=()):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return next((p for p in extra if os.path.exists(p)), None)


def headless_chromium():
    """A Selenium driver for headless chromium; skips the test when none can be found."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed: pip install 'lamina[test]'")
    browser = _find(BROWSERS, ("/usr/bin/chromium", "/usr/lib/chromium/chromium"))
    driver = _find(DRIVERS, ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"))
    if browser is None or driver is None:
        pytest.skip("no chromium browser and chromedriver found: install them "
                    "(apt-get install chromium chromium-driver) to run the dashboard tests")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver)
    return webdriver.Chrome(options=options, service=service)
