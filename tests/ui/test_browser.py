"""The UI in a real browser: Debian's chromium, headless, driven by Playwright, against
`mesh ui` started as its own process with a users file (local = the owner, mallory = a
user the policy does not know). Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
MESH_BIN = str(Path(sys.executable).with_name("mesh"))
USERS = {"local": "owner-pass", "mallory": "mallory-pass"}
SALES = "region,product,revenue\nNorth,Widget,25\nSouth,Gadget,30\nNorth,Gadget,50\nEast,Gizmo,9\n"
TIMEOUT = 90_000
HOSTS: set[str] = set()  # every host the pages asked for
expect.set_options(timeout=TIMEOUT)  # a loaded CI machine answers slowly; expect waits


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SlowSite(BaseHTTPRequestHandler):
    """Serves sales.csv after a pause, so the browser can watch a task run."""

    def do_GET(self) -> None:
        time.sleep(5)
        body = SALES.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mesh ui` on a free loopback port, with a login, until the module's tests end."""
    root = tmp_path_factory.mktemp("ui")
    users = root / "users.txt"
    users.write_text("".join(f"{name}:{password}\n" for name, password in USERS.items()))
    port = free_port()
    env = {**os.environ, "MESH_HOME": str(root / "home"), "GRADIO_ANALYTICS_ENABLED": "False"}
    log = (root / "ui.log").open("wb")
    proc = subprocess.Popen(
        [MESH_BIN, "ui", "--port", str(port), "--auth", str(users)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"mesh ui exited:\n{(root / 'ui.log').read_text()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"mesh ui did not answer in 120s:\n{(root / 'ui.log').read_text()}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def login(browser: Browser, url: str, user: str) -> Page:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.set_default_timeout(TIMEOUT)
    page.on("request", lambda r: HOSTS.add(r.url.split("/")[2]))
    page.goto(url)
    page.locator("input[data-testid='textbox']").fill(user)
    page.locator("input[type='password']").fill(USERS[user])
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#identity")).to_contain_text(f"Signed in as {user}")
    return page


def ask(page: Page, request: str) -> None:
    page.locator("#chat-input textarea").fill(request)
    page.locator("#chat-send").click()


def task_states(page: Page) -> dict[str, str]:
    nodes = page.locator("#plan-dag g.task")
    return {
        nodes.nth(i).get_attribute("data-task") or "": nodes.nth(i).get_attribute("data-state")
        or ""
        for i in range(nodes.count())
    }


def test_chat_streams_progress_then_answers_with_who_did_what(
    browser: Browser, ui: str, site: str
) -> None:
    page = login(browser, ui, "local")
    ask(
        page,
        f"Fetch {site}/sales.csv, then find which region has the highest revenue"
        " and convert 5 miles to km",
    )
    running = page.locator("#plan-dag g.task[data-task='t1'][data-state='running']")
    expect(running).to_be_visible()  # the slow fetch is still going
    expect(page.locator("#plan-dag g.task[data-task='t3'][data-state='succeeded']")).to_be_visible()
    assert task_states(page)["t2"] == "waiting"
    expect(page.locator("#chatbot")).to_contain_text("Mesh at work")
    page.screenshot(path=ARTIFACTS / "chat-running.png", full_page=True)

    expect(page.locator("#chatbot")).to_contain_text("Who did what")
    assert task_states(page) == {"t1": "succeeded", "t2": "succeeded", "t3": "succeeded"}
    chat = page.locator("#chatbot")
    expect(chat).to_contain_text("North has the highest total revenue: 75")
    expect(chat).to_contain_text("5 mi = 8.04672 km")
    table = page.locator("#plan-table")
    for agent in ("web-reader", "csv-analyst", "units"):
        expect(table).to_contain_text(agent)
    edges = page.locator("#plan-dag path.edge[data-from='t1'][data-to='t2']")
    expect(edges).to_have_count(1)
    expect(page.locator("#run-summary")).to_contain_text("3/3 tasks done (3 succeeded)")
    page.get_by_text("Events").click()
    log = page.locator("#event-log")
    expect(log).to_contain_text("t1 on web-reader, attempt 1")
    expect(log).to_contain_text("→ web-reader")
    page.screenshot(path=ARTIFACTS / "chat-answer.png", full_page=True)
    page.close()


def test_marketplace_registers_a_card_and_finds_it_by_meaning(browser: Browser, ui: str) -> None:
    page = login(browser, ui, "local")
    page.get_by_role("tab", name="Marketplace").click()
    editor = page.locator("#mk-card-json .cm-content")

    def enter(card: object) -> None:
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(json.dumps(card))

    enter({"name": "Bad Name", "description": "", "skills": [{"name": "x"}]})
    page.locator("#mk-register").click()
    status = page.locator("#mk-register-status")
    expect(status).to_contain_text("Not registered")
    expect(status).to_contain_text("name: Value error, agent name 'Bad Name' is not valid")
    expect(status).to_contain_text("skills.0.description")

    enter(
        {
            "name": "tide-tables",
            "description": "High and low tide times for harbours and beaches",
            "owner": "team-sea",
            "tags": ["ocean", "tides"],
            "skills": [
                {
                    "name": "tide-times",
                    "description": "When is high tide at a harbour on a given day",
                    "examples": ["when is high tide in Brest tomorrow"],
                }
            ],
        }
    )
    page.locator("#mk-register").click()
    expect(status).to_contain_text("Registered tide-tables")

    page.locator("#mk-query input, #mk-query textarea").first.fill(
        "what time is high water at the port"
    )
    page.locator("#mk-search").click()
    first = page.locator("#mk-results .mk-card").first
    expect(first).to_have_attribute("data-agent", "tide-tables")
    expect(first).to_contain_text("team-sea")
    expect(first).to_contain_text("tide-times")
    page.screenshot(path=ARTIFACTS / "marketplace-search.png", full_page=True)
    page.close()


def test_a_denied_request_is_shown_as_denied(browser: Browser, ui: str) -> None:
    page = login(browser, ui, "mallory")
    ask(page, "What is 6 * 7?")
    chat = page.locator("#chatbot")
    expect(chat).to_contain_text("Denied by policy")
    expect(chat).to_contain_text("you may not engage")
    expect(page.locator("#plan-dag g.task[data-task='t1']")).to_have_attribute(
        "data-state", "denied"
    )
    expect(page.locator("#plan-table")).to_contain_text("denied")
    page.get_by_text("Events").click()
    expect(page.locator("#event-log")).to_contain_text("policy denied mallory → calculator")
    page.screenshot(path=ARTIFACTS / "chat-denied.png", full_page=True)

    page.get_by_role("tab", name="Policy & Audit").click()
    audit = page.locator("#audit-table")
    expect(audit).to_contain_text("mallory")
    expect(audit).to_contain_text("agent:calculator")
    page.locator("#audit-verify").click()
    expect(page.locator("#audit-verify-result")).to_contain_text("chain intact")
    page.locator("#policy-sub input, #policy-sub textarea").first.fill("mallory")
    page.locator("#policy-check").click()
    expect(page.locator("#policy-check-result")).to_contain_text("deny")
    page.screenshot(path=ARTIFACTS / "policy-audit.png", full_page=True)
    page.close()


def replace_code(page: Page, selector: str, text: str) -> None:
    page.locator(f"{selector} .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_plan_approval_approve_edit_reject(browser: Browser, ui: str) -> None:
    page = login(browser, ui, "local")
    review = page.locator("#chat-review input")
    review.check()
    ask(page, "Compute 2**10 then convert the result from km to miles")
    approval = page.locator("#plan-approve")
    expect(approval).to_be_visible()
    expect(page.locator("#chatbot")).to_contain_text("The plan is ready")
    expect(page.locator("#plan-json")).to_contain_text("convert the result from km to miles")
    assert task_states(page) == {"t1": "waiting", "t2": "waiting"}
    page.screenshot(path=ARTIFACTS / "chat-approval.png", full_page=True)
    page.locator("#plan-approve").click()
    expect(page.locator("#chatbot")).to_contain_text("Compute 2**10: 2**10 = 1024 (by calculator)")
    expect(page.locator("#chatbot")).to_contain_text("1024 km = 636.284100851 mi")
    expect(approval).to_be_hidden()

    ask(page, "What is 1 + 1?")
    expect(approval).to_be_visible()
    plan = {"tasks": [{"id": "t1", "description": "What is 3 * 3?", "depends_on": []}]}
    replace_code(page, "#plan-json", json.dumps(plan))
    page.locator("#plan-edit").click()
    expect(page.locator("#chatbot")).to_contain_text("3 * 3 = 9")

    ask(page, "What is 5 + 5?")
    expect(approval).to_be_visible()
    page.locator("#plan-reject").click()
    expect(page.locator("#chatbot")).to_contain_text("The plan was rejected")
    assert "10" not in page.locator("#chatbot").inner_text().split("What is 5 + 5?")[-1]
    page.close()


def test_the_pages_load_nothing_from_outside_loopback(browser: Browser, ui: str) -> None:
    page = login(browser, ui, "local")
    page.get_by_role("tab", name="Marketplace").click()
    page.get_by_role("tab", name="Policy & Audit").click()
    page.close()
    assert HOSTS and {h.split(":")[0] for h in HOSTS} == {"127.0.0.1"}, HOSTS


def test_wrong_password_does_not_get_in(browser: Browser, ui: str) -> None:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(ui)
    page.locator("input[data-testid='textbox']").fill("mallory")
    page.locator("input[type='password']").fill("guess")
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
    assert page.locator("#chat-input").count() == 0
    page.close()
