"""The operator dashboard in a real headless browser (Debian's chromium driven by Playwright) against a service
running on the exchange simulator. Screenshots go to artifacts/ (gitignored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from tests.helpers import wait_for

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see .ci/run)")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "dashboard-test-token-0123456789"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; see .ci/run)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, service_factory):
    # Depends on service_factory so the browser (and its keep-alive connections) closes before the service stops.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    # Nothing but the service's own loopback origin may be contacted.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1:")
               else route.abort())
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def row(symbol: str, state: str) -> str:
    return f'#symbols-body tr[data-symbol="{symbol}"][data-state="{state}"]'


def test_a_dropped_symbol_shows_reconnecting_then_healthy_again(page, service_factory, sim):
    service = service_factory(backoff_initial=0.5, backoff_max=2)
    page.goto(f"{service.http.url}/")
    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=20_000)
    page.wait_for_selector(row("ETHUSDT", "connected"), timeout=20_000)
    page.wait_for_function("() => document.querySelector('#overall').textContent === 'healthy'", timeout=10_000)
    # A trades/min figure and a sparkline appear once the page has a few polls of storage.
    page.wait_for_function("""() => {
        const r = document.querySelector('#symbols-body tr[data-symbol="BTCUSDT"]');
        return r && /^[0-9]+$/.test(r.querySelector('td.rate').textContent) && r.querySelector('svg polyline');
    }""", timeout=15_000)
    assert page.locator('#actors li[data-actor="stream:BTCUSDT"]').count() == 1

    sim.refuse_connections(600)  # until the page has shown the outage (ended below, not by a clock)
    sim.drop_connections("BTCUSDT")
    page.wait_for_selector(row("BTCUSDT", "reconnecting"), timeout=10_000)
    assert page.locator(row("ETHUSDT", "connected")).count() == 1
    assert page.locator("#overall").text_content() == "degraded"
    page.wait_for_function("() => document.querySelector('#logs').textContent.includes('BTCUSDT')", timeout=10_000)
    screenshot(page, "dashboard-reconnecting.png")
    sim.refuse_connections(0)

    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=30_000)
    # The hole left by the outage is filled from REST and shown as the symbol's last gap.
    page.wait_for_selector('#symbols-body tr[data-symbol="BTCUSDT"] [data-gap="filled"]', timeout=20_000)
    screenshot(page, "dashboard-recovered.png")
    assert page.errors == []


def test_a_stream_down_past_its_alert_delay_shows_unhealthy_with_the_reason(page, service_factory, sim):
    service = service_factory(backoff_initial=0.2, backoff_max=1, stream_down_alert=2)
    page.goto(f"{service.http.url}/")
    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=20_000)
    sim.refuse_connections(600)  # until the page has shown the outage (ended below, not by a clock)
    sim.drop_connections("BTCUSDT")
    page.wait_for_selector(row("BTCUSDT", "down"), timeout=15_000)
    page.wait_for_function("() => document.querySelector('#overall').textContent === 'unhealthy'", timeout=10_000)
    reasons = page.locator("#health-reasons").text_content()
    assert "stream BTCUSDT: not connected for" in reasons and "ETHUSDT" not in reasons
    screenshot(page, "dashboard-stream-down.png")
    sim.refuse_connections(0)
    page.wait_for_function("() => document.querySelector('#overall').textContent === 'healthy'", timeout=30_000)
    assert page.locator("#health-reasons").is_hidden()
    assert page.errors == []


def test_volume_profile_chart_marks_the_point_of_control(page, service_factory, sim):
    service = service_factory()
    url = service.http.url
    page.goto(f"{url}/")
    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=20_000)
    sim.set_regime(rate=400)
    wait_for(lambda: sum(hi - lo + 1 for lo, hi in
                         requests.get(f"{url}/api/status", timeout=10).json()["storage"]["stored_ids"]["BTCUSDT"])
             >= 1200, timeout=30, message="1200 stored BTCUSDT trades")
    page.select_option("#vp-symbol", "BTCUSDT")
    page.fill("#vp-hours", "1")
    page.click("#vp-form button[type=submit]")
    page.wait_for_selector("#vp-chart svg rect.bar.poc", timeout=15_000)
    assert page.locator("#vp-chart .poc-line").count() == 1
    assert "POC" in page.locator("#vp-chart .poc-label").text_content()
    screenshot(page, "dashboard-volume-profile.png")
    assert page.errors == []


def test_chart_of_the_cbot_reference_profile(page, service_factory):
    """The drawing alone, fed the docs/analytics.md reference vector: POC 106, value area 105-108."""
    service = service_factory()
    page.goto(f"{service.http.url}/")
    # Let the page's own first profile request finish (it answers 404 or 422 here) before drawing over it.
    page.wait_for_function("() => document.querySelector('#vp-message').textContent !== ''", timeout=15_000)
    volumes = {110: 10, 109: 50, 108: 80, 107: 90, 106: 150, 105: 70, 104: 60, 103: 20, 102: 15, 101: 10}
    histogram = [{"price_low": str(p), "price_high": str(p), "price_level": str(p), "volume": str(v),
                  "buy_volume": "0", "sell_volume": str(v), "quote_volume": "0", "trade_count": 1,
                  "percentage_of_total": v / 555 * 100} for p, v in volumes.items()]
    profile = {"symbol": "BTCUSDT", "histogram": histogram, "point_of_control": "106", "value_area_low": "105",
               "value_area_high": "108", "bin_count": 10, "bin_size": "1", "trade_count": 10}
    page.evaluate("p => window.tradeactorsDashboard.drawProfile(p)", profile)
    titles = page.locator("#vp-chart rect.bar.poc title").all_text_contents()
    assert len(titles) == 1 and titles[0].startswith("106")
    in_area = page.locator("#vp-chart rect.bar.in-va title").all_text_contents()
    assert sorted(t.split("–")[0] for t in in_area) == ["105", "106", "107", "108"]


def test_fifty_symbols_render_quickly(page, service_factory):
    """Rendering is one innerHTML per area: 50 symbols with full history stay far below the 2 s refresh."""
    service = service_factory()
    page.goto(f"{service.http.url}/")
    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=20_000)
    elapsed = page.evaluate("""() => {
        const d = window.tradeactorsDashboard;
        const base = JSON.parse(JSON.stringify(d.lastData));
        const template = base.status.symbols.BTCUSDT;
        const symbols = {}, actors = {...base.status.actors};
        for (let i = 0; i < 50; i++) {
            symbols['SYM' + i + 'USDT'] = {...template};
            actors['stream:SYM' + i + 'USDT'] = {alive: true, restarts: i % 3};
        }
        const t0 = performance.now();
        for (let k = 0; k < 150; k++) {
            for (const s of Object.values(symbols)) s.trades_received += 50;
            base.now_ms += 2000;
            d.render({...base, status: {...base.status, symbols, actors}});
        }
        return (performance.now() - t0) / 150;
    }""")
    assert page.locator("#symbols-body tr").count() == 50
    assert page.locator("#symbols-body tr svg polyline").count() == 50
    screenshot(page, "dashboard-50-symbols.png")
    assert elapsed < 100, f"one render of 50 symbols took {elapsed:.1f} ms"


def test_with_a_token_the_page_asks_for_it_once_and_then_shows_the_service(page, service_factory):
    service = service_factory(api_token=TOKEN)
    page.goto(f"{service.http.url}/")
    page.wait_for_selector("#token-form:not([hidden])", timeout=10_000)
    assert page.locator("#symbols-body tr").count() == 0
    page.fill("#token-input", TOKEN)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=20_000)
    assert page.evaluate("sessionStorage.getItem('tradeactors.token')") == TOKEN
    page.reload()
    page.wait_for_selector(row("BTCUSDT", "connected"), timeout=20_000)
    assert page.locator("#token-form").is_hidden()


def test_a_real_service_with_fifty_symbols_stays_responsive(browser, tmp_path):
    from tests.conftest import service_config
    from tradeactors.service import Service
    from tradeactors.simulator import Simulator

    symbols = [f"S{i:02d}USDT" for i in range(50)]
    sim = Simulator(symbols=symbols, rate=2.0, seed=11, tls=True)
    sim.start()
    service = Service(service_config(tmp_path, sim, depth_limit=100))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        service.start()
        page = context.new_page()
        page.goto(f"{service.http.url}/")
        wait_for(lambda: page.locator("#symbols-body tr[data-state=\"connected\"]").count() == 50, timeout=60,
                 interval=0.5, message="50 symbols connected on the page")
        round_trips = page.evaluate("""async () => {
            const times = [];
            for (let i = 0; i < 5; i++) {
                const t0 = performance.now();
                await (await fetch('/api/dashboard')).json();
                times.push(performance.now() - t0);
            }
            return times.sort((a, b) => a - b)[2];
        }""")
        screenshot(page, "dashboard-50-real-symbols.png")
        assert round_trips < 1000, f"a dashboard refresh of 50 live symbols took {round_trips:.0f} ms (median)"
    finally:
        context.close()
        service.stop()
        sim.stop()
