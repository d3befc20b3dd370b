"""The HTML reports in a real browser: headless Debian Chromium driven by playwright.

Builds the seed report and a report on a hostile corpus (tests/data/hostile/, text,
titles and outlet names carrying <script>/<img onerror> payloads) once per session,
opens every page and asserts: no dialog and no injected script ran, no console or
page errors, no network request, every outlet is in the summary table page, every
image loaded. Outside CI the test skips, saying so, when no Chromium is found; in CI
(CI=true) a missing Chromium is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.config import ROOT

pytestmark = pytest.mark.browser

HOSTILE = ROOT / "tests" / "data" / "hostile" / "corpus.jsonl"
SUMMARY_PAGE = "05_comparison.html"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Runs before any page script (through the DevTools protocol, so the page's CSP
# does not block it): any alert/confirm/prompt or payload that runs leaves a trace.
SENTINEL = """
window.__fired = [];
for (const name of ['alert', 'confirm', 'prompt']) {
  window[name] = (msg) => { window.__fired.push(name + ':' + msg); };
}
"""


def _chromium() -> str:
    found = os.environ.get("OUTLET_LENS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if not found:
        if in_ci:
            pytest.fail("CI=true but no Chromium found: .ci/run installs Debian's chromium; install it (apt-get install chromium)")
        pytest.skip("browser test skipped: no Chromium found (apt-get install chromium, or set OUTLET_LENS_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if in_ci:
            pytest.fail("CI=true but the playwright package is missing from the environment")
        pytest.skip("browser test skipped: the playwright package is not installed")
    return found


def _build(corpus: Path | None, out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "analysis", "report", "--out", str(out)]
    if corpus is not None:
        cmd += ["--corpus", str(corpus)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def _outlets(corpus: Path | None) -> list[str]:
    from analysis.corpus import load_corpus

    return sorted(load_corpus(corpus)["outlet"].astype(str).unique())


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module", params=["seeds", "hostile"])
def built(request, tmp_path_factory, browser):
    corpus = None if request.param == "seeds" else HOSTILE
    out = tmp_path_factory.mktemp(f"report-{request.param}")
    res = _build(corpus, out)
    # A notebook that fails still gets its page (with the error); the pages are
    # checked all the same, and test_every_notebook_runs reports the failure.
    assert (out / "index.html").exists(), res.stderr[-3000:]
    return request.param, corpus, out, res


def _pages(out: Path) -> list[Path]:
    index = (out / "index.html").read_text(encoding="utf-8")
    linked = re.findall(r'<a href="([^"#]+\.html)"', index)
    assert linked, "index.html links no page"
    return [out / "index.html", *[out / name for name in linked]]


def _visit(browser, page_path: Path) -> dict:
    ctx = browser.new_context(java_script_enabled=True)
    ctx.add_init_script(SENTINEL)
    page = ctx.new_page()
    seen = {"dialogs": [], "console": [], "errors": [], "requests": []}
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(page_path.as_uri(), wait_until="load")
    seen["fired"] = page.evaluate("window.__fired")
    seen["images"] = page.evaluate(
        "Array.from(document.images).map(i => ({src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0}))")
    seen["text"] = page.inner_text("body")
    seen["injected"] = page.evaluate(
        "document.querySelectorAll('main script, main iframe, main svg, main object, main embed, main [onerror], main [onload]').length")
    ctx.close()
    return seen


def test_every_notebook_runs_on_the_corpus(built):
    name, _, _, res = built
    failed = [ln for ln in res.stderr.splitlines() if ln.startswith(("FAILED", "error:"))]
    assert res.returncode == 0 and not failed, f"{name}: " + "\n".join(failed)


def test_every_page_is_inert_self_contained_and_loads_its_figures(built, browser):
    name, _, out, _ = built
    for path in _pages(out):
        seen = _visit(browser, path)
        where = f"{name}: {path.name}"
        assert seen["dialogs"] == [], where
        assert seen["fired"] == [], where
        assert seen["injected"] == 0, where
        assert seen["errors"] == [], where
        assert [c for c in seen["console"] if c.startswith("error")] == [], where
        assert seen["requests"] == [], where
        assert all(img["ok"] for img in seen["images"]), (where, seen["images"])


def test_summary_table_names_every_outlet(built, browser):
    name, corpus, out, _ = built
    seen = _visit(browser, out / SUMMARY_PAGE)
    missing = [o for o in _outlets(corpus) if o not in seen["text"]]
    assert missing == [], f"{name}: outlets missing from {SUMMARY_PAGE}"


@pytest.mark.parametrize("built", ["hostile"], indirect=True)  # only that corpus carries markup
def test_hostile_markup_is_shown_as_text(built, browser):
    name, _, out, _ = built
    text = "\n".join(_visit(browser, p)["text"] for p in _pages(out))
    assert "Alpha News <b>Wire</b>" in text
    assert 'Gamma & Co "Daily"' in text
