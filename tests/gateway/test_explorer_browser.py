"""The explorer page in a real headless browser: Debian's chromium, driven by Playwright against the
gateway served by uvicorn on 127.0.0.1. Searches, checks the drawn tree (nodes, edges, tiers, the
factored piece), the block label and the timeline, shows that a supplier sees only its branch or
nothing, and saves a screenshot of the tree to test-artifacts/explorer-tree.png.

Without chromium or playwright the tests skip with the reason, except in CI (CI=true), where they
fail: `bash run.sh test` installs chromium (tools/chromium.sh) and playwright (the [test] extra).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from explorer_world import explorer_world

from gateway.main import create_app

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser fixture skips (fails in CI) with the reason
    expect = sync_playwright = None

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _chromium() -> str:
    for candidate in (os.environ.get("LEDGER_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return ""


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; in CI the browser tests must run (bash run.sh test installs chromium as root)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if not executable:
        _unavailable("no chromium: install Debian's chromium (bash tools/chromium.sh, as root) or set LEDGER_CHROMIUM")
    if sync_playwright is None:
        _unavailable("the playwright package is missing (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def served(gw):
    """The gateway app over the tests' started Gateway, served by uvicorn on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(gw.settings, gateway=gw.gateway), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="explorer-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting (see the log above)"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def ew(gw):
    return explorer_world(gw)


def _open(browser, served, party):
    """A fresh page logged in with `party`'s API key (typed into the key field)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served}/explorer")
    page.fill("#api-key", party.api_key)
    page.click("#key-button")
    expect(page.locator("#whoami")).to_have_attribute("data-address", party.address)
    page.js_errors = errors
    return page


def _search(page, kind: str, text: str):
    page.select_option("#search-kind", kind)
    page.fill("#search-input", text)
    page.click("#search-button")


def _drawn(page) -> tuple[set[int], set[tuple[int, int, str]]]:
    nodes = {int(t) for t in page.eval_on_selector_all("#tree g.node", "gs => gs.map(g => g.dataset.tokenId)")}
    edges = page.eval_on_selector_all(
        "#tree g.edge-group", "gs => gs.map(g => [g.dataset.from, g.dataset.to, g.dataset.kind])")
    return nodes, {(int(a), int(b), k) for a, b, k in edges}


def test_an_auditor_searches_a_receivable_and_sees_its_whole_tree(browser, served, ew):
    gw = ew.gw
    page = _open(browser, served, gw.auditor)
    _search(page, "auto", str(ew.receivable_id))
    # An id that is both a receivable and a voucher lists both; pick the receivable.
    page.wait_for_selector("#tree, #matches")
    if page.query_selector("#matches"):
        page.click(f"#matches a[href='#/receivable/{ew.receivable_id}']")
    page.wait_for_selector("#tree g.node")
    nodes, edges = _drawn(page)
    assert nodes == ew.tokens
    assert edges == {(ew.root, ew.a, "split"), (ew.root, ew.c, "split"), (ew.a, ew.b, "split"),
                     (ew.b, ew.f, "split")}
    tiers = {int(t): int(d) for t, d in page.eval_on_selector_all(
        "#tree g.node", "gs => gs.map(g => [g.dataset.tokenId, g.dataset.tier])")}
    assert tiers == {ew.root: 1, ew.a: 2, ew.c: 2, ew.b: 3, ew.f: 4}
    assert page.get_attribute("#tree", "data-tiers") == "4"
    factored = page.locator(f"#tree g.node[data-token-id='{ew.f}']")
    assert "factored" in factored.get_attribute("class") and "factored → bank2, recourse" in factored.text_content()
    assert "claimed" in page.locator(f"#tree g.node[data-token-id='{ew.a}']").get_attribute("class")
    label = page.inner_text("#block-label")
    head = gw.gateway.reader.block()
    number = int(page.get_attribute("#block-label", "data-block-number"))
    assert label.startswith(f"Data as of block #{number}") and 0 < number <= head.number
    assert "whole tree" in page.inner_text("#access")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "explorer-tree.png"
    page.locator("#graph").screenshot(path=str(shot))
    assert shot.stat().st_size > 5_000, "the screenshot of the tree is empty"
    page.screenshot(path=str(ARTIFACTS / "explorer-page.png"), full_page=True)
    # A node opens the voucher's timeline: its events with block and transaction.
    factored.click()
    page.wait_for_selector("table.timeline tbody tr")
    assert page.inner_text("#title").startswith(f"Voucher #{ew.f}")
    rows = page.eval_on_selector_all("table.timeline tbody tr", "rs => rs.map(r => r.innerText)")
    assert any("Factored" in r for r in rows) and all("0x" in r for r in rows)
    assert [a for a in page.eval_on_selector_all("#lineage a", "as => as.map(a => a.textContent)")] == [
        f"#{ew.root}", f"#{ew.a}", f"#{ew.b}"]
    assert page.js_errors == []
    page.close()


def test_a_supplier_sees_its_branch_but_not_the_others(browser, served, ew):
    page = _open(browser, served, ew.tier2b)
    _search(page, "receivable", str(ew.receivable_id))
    page.wait_for_selector("#tree g.node")
    nodes, edges = _drawn(page)
    assert nodes == {ew.root, ew.c}, "tier2b sees the root it descends from and its own piece only"
    assert edges == {(ew.root, ew.c, "split")}
    assert "3 other voucher(s)" in page.inner_text("#access")
    text = page.inner_text("#view")
    for hidden in (ew.tier3, ew.gw.tier2, ew.gw.bank2):
        assert hidden.name not in text and hidden.address[:6] + "…" + hidden.address[-4:] not in text
    # tier3's voucher is not tier2b's to open, even by its id.
    _search(page, "voucher", str(ew.b))
    page.wait_for_selector("#error:not([hidden])")
    assert "403 NotOwner" in page.inner_text("#error") and page.query_selector("#tree") is None
    assert page.js_errors == []
    page.close()


def test_an_outsider_sees_nothing_of_the_receivable_and_only_its_own_positions(browser, served, ew):
    page = _open(browser, served, ew.outsider)
    _search(page, "auto", str(ew.receivable_id))
    page.wait_for_selector("#error:not([hidden])")
    assert "not entitled" in page.inner_text("#error") and page.query_selector("#tree") is None
    _search(page, "party", ew.gw.tier1.address)
    expect(page.locator("#error")).to_contain_text("403")
    assert "positions are shown only to the party itself" in page.inner_text("#error")
    _search(page, "party", ew.outsider.address)
    page.wait_for_selector("#title")
    assert page.inner_text("#title").startswith("Party Outsider Trading") and "No vouchers held" in page.inner_text(
        "#view")
    page.close()


def test_a_party_sees_its_positions_with_links_to_its_receivables(browser, served, ew):
    page = _open(browser, served, ew.tier3)
    _search(page, "auto", ew.tier3.address)
    page.wait_for_selector("table.holdings")
    assert str(ew.receivable_id) in page.inner_text("table.holdings") and "100,000" in page.inner_text(
        "table.holdings")
    page.click(f"table.holdings a[href='#/receivable/{ew.receivable_id}']")
    page.wait_for_selector("#tree g.node")
    nodes, _ = _drawn(page)
    assert nodes == {ew.root, ew.a, ew.b, ew.f}
    assert page.js_errors == []
    page.close()


def test_value_moved_into_an_existing_voucher_is_drawn_as_a_dashed_edge(browser, served, ew):
    gw = ew.gw
    issued = gw.issue(10_000)
    rid, root = issued["receivable_id"], issued["token_id"]
    # x is tier1's own: value into another party's voucher needs its consent (issue 13, item 2).
    x = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier1.address, "value": "3000"}).json()["token_id"]
    y = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier1.address, "value": "2000"}).json()["token_id"]
    moved = gw.post(gw.tier1, f"/v1/vouchers/{root}/transfer-value", {"to_token_id": x, "value": "500"})
    assert moved.status_code == 200, moved.json()
    assert gw.post(gw.tier1, f"/v1/vouchers/{y}/merge", {"into_token_id": root}).status_code == 200
    page = _open(browser, served, gw.tier1)
    page.goto(f"{served}/explorer#/receivable/{rid}")
    page.wait_for_selector("#tree g.node")
    nodes, edges = _drawn(page)
    assert nodes == {root, x, y}
    assert edges == {(root, x, "split"), (root, y, "split"), (root, x, "moved"), (y, root, "moved")}
    assert "burned" in page.locator(f"#tree g.node[data-token-id='{y}']").get_attribute("class")
    page.locator("#graph").screenshot(path=str(ARTIFACTS / "explorer-moves.png"))
    assert page.js_errors == []
    page.close()


def test_a_wrong_api_key_is_refused_with_the_reason(browser, served, ew):
    page = browser.new_page()
    page.goto(f"{served}/explorer")
    page.fill("#api-key", "rlk_not-a-key")
    page.click("#key-button")
    expect(page.locator("#error")).to_contain_text("401 Unauthenticated: unknown API key")
    _search(page, "receivable", str(ew.receivable_id))
    expect(page.locator("#error")).to_contain_text("Enter your API key first")
    assert page.query_selector("#tree") is None
    page.close()
