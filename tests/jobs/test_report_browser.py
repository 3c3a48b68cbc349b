"""The audit report in a real headless browser (Debian's chromium driven by selenium): every image loads, the
console has no errors, and every headline figure on the page equals summary.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.report import HEADLINE, figure_text, lookup
from jobs.audit import AuditConfig, run_audit
from tests.jobs.test_audit import build_reference_case

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def report(spark, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real audit report with every section: WARC-like documents matched to Wikipedia reference versions,
    and a run's measured cutoff."""
    root = tmp_path_factory.mktemp("browser")
    documents, reference, _ = build_reference_case(data_dir, root / "case")
    run = root / "run"
    run.mkdir()
    (run / "probe.json").write_text(
        json.dumps({"newest_month": "2019-07", "cutoff": {"effective_cutoff": "2017-01"}})
    )
    config = AuditConfig(reference=str(reference), run=str(run), bootstrap=200, sample=0.9)
    run_audit(spark, [str(documents)], str(root / "report"), config, print_table=False)
    return root / "report"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium/chromedriver not installed (scripts/setup.sh --test installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


def test_report_renders_with_images_and_figures_equal_to_summary(report: Path, browser) -> None:
    from selenium.webdriver.common.by import By

    summary = json.loads((report / "summary.json").read_text())
    browser.get((report / "report.html").as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    assert browser.title.startswith("chronomix audit")

    images = browser.find_elements(By.TAG_NAME, "img")
    plots = sorted(p.name for p in report.glob("*.png"))
    assert sorted(img.get_attribute("data-plot") for img in images) == plots
    assert "version_months.png" in plots
    for img in images:
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        loaded = browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
        assert loaded and loaded > 0, img.get_attribute("data-plot")

    figures = browser.find_elements(By.CSS_SELECTOR, "[data-figure]")
    keys = [f.get_attribute("data-figure") for f in figures]
    assert {key for key, _, _ in HEADLINE} <= set(keys)
    assert {"sample.fraction", "reference.predicted_cutoff.month", "run.measured_effective_cutoff"} <= set(
        keys
    )
    for element, key in zip(figures, keys, strict=True):
        assert element.text == figure_text(lookup(summary, key)), key
    assert summary["headline"]["predicted_effective_cutoff"] is not None
    assert summary["headline"]["measured_effective_cutoff"] == "2017-01"

    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_a_broken_image_is_caught(report: Path, browser, tmp_path: Path) -> None:
    """The check above can fail: a page whose image data is cut short does not load it, and logs nothing
    that the figure check would miss."""
    broken = tmp_path / "report.html"
    page = (report / "report.html").read_text()
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken.write_text(page[:start] + "AAAA" + page[start + 400 :])
    shutil.copy(report / "summary.json", tmp_path / "summary.json")
    browser.get(broken.as_uri())
    widths = browser.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
    assert 0 in widths
