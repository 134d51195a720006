"""The web reader against a real HTTP server on loopback: extraction, limits, failures."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mesh.agents.web import WebReader, extract_html, find_url
from mesh.errors import AgentError, AgentUnavailable, TaskRejected
from mesh.models import TaskRequest

PAGE = """<!doctype html><html><head><title>Quarterly  report</title>
<meta name="description" content="Sales in Q1"><style>p{color:red}</style>
<script>document.write("tracking")</script></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<main><h1>Q1 results</h1><p>Revenue grew by <b>12%</b> &amp; costs fell.</p>
<ul><li>North: strong</li><li>South: flat</li></ul>
<p>See the <a href="data/sales.csv">raw data</a>.</p></main>
<footer>© Example Corp</footer></body></html>"""
CSV = "region,revenue\nNorth,10\nSouth,5\n"

ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/report.html": (200, "text/html; charset=utf-8", PAGE.encode()),
    "/data/sales.csv": (200, "text/csv", CSV.encode()),
    "/latin1.txt": (200, "text/plain; charset=iso-8859-1", "café".encode("latin-1")),
    "/image.png": (200, "image/png", b"\x89PNG\r\n"),
    "/big.txt": (200, "text/plain", b"x" * 5000),
    "/busy": (503, "text/plain", b"try again later"),
}
REDIRECTS = {"/loop": "/loop", "/to-ftp": "ftp://127.0.0.1/file.txt"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[self.path])
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(2)
        status, ctype, body = ROUTES.get(self.path, (404, "text/plain", b"not here"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def read(url_or_text: str, reader: WebReader | None = None) -> tuple[str, dict[str, object]]:
    result = (reader or WebReader(timeout=5))(TaskRequest(task_id="t", description=url_or_text))
    return result.output, result.data


def test_extracts_main_text_without_scripts_menus_or_footer(site: str) -> None:
    output, data = read(f"extract the text from {site}/report.html")
    assert data["title"] == "Quarterly report"
    assert data["description"] == "Sales in Q1"
    assert output.startswith("# Quarterly report\n\n# Q1 results")
    assert "Revenue grew by 12% & costs fell." in output
    assert "- North: strong\n- South: flat" in output
    for absent in ("tracking", "color:red", "Home", "Example Corp"):
        assert absent not in output
    assert data["links"] == [{"href": f"{site}/data/sales.csv", "text": "raw data"}]


def test_csv_comes_back_as_data_for_the_analyst(site: str) -> None:
    output, data = read(f"download {site}/data/sales.csv")
    assert output == CSV.strip()
    assert data["csv"] == CSV and data["kind"] == "csv"


def test_declared_charset_is_honoured(site: str) -> None:
    output, _ = read(f"{site}/latin1.txt")
    assert output == "café"


def test_long_bodies_are_cut_and_say_so(site: str) -> None:
    output, data = read(f"{site}/big.txt", WebReader(max_bytes=1000))
    assert data["truncated"] is True and data["bytes"] == 1000
    assert output.endswith("[the page was longer than 1,000 bytes; read up to there]")


@pytest.mark.parametrize(
    ("path", "message", "rejected"),
    [
        ("/missing.html", "answered 404 Not Found: check the address", True),
        ("/image.png", "is image/png, not a web page or text", True),
        ("/loop", "redirects more than 5 times", True),
        ("/to-ftp", "UnsupportedProtocol", True),
        ("/busy", "answered 503 Service Unavailable", False),  # the next try may work
    ],
)
def test_http_failures_are_reported_in_words(
    site: str, path: str, message: str, rejected: bool
) -> None:
    with pytest.raises(AgentError, match=message) as caught:
        read(f"fetch {site}{path}")
    assert isinstance(caught.value, TaskRejected) is rejected
    assert isinstance(caught.value, AgentUnavailable) is not rejected


def test_slow_servers_time_out(site: str) -> None:
    with pytest.raises(AgentError, match=re.escape("did not answer within 0.5s")) as caught:
        read(f"fetch {site}/slow", WebReader(timeout=0.5))
    assert isinstance(caught.value, AgentUnavailable), "a timeout is worth another try"


def test_nothing_listening_is_a_connect_error() -> None:
    with pytest.raises(
        AgentError,
        match=re.escape("cannot reach http://127.0.0.1:9/ to fetch it: could not connect"),
    ) as e:
        read("fetch http://127.0.0.1:9/")
    assert isinstance(e.value, AgentUnavailable), "the server may be up on the next try"


def test_private_addresses_can_be_blocked(site: str) -> None:
    with pytest.raises(TaskRejected, match="private or loopback address: refused"):
        read(f"{site}/report.html", WebReader(block_private=True))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("read file:///etc/passwd", "only http:// and https:// URLs"),
        ("read the page about cats", "found no URL"),
        ("read http://user:pw@example.org/", "user name or password are refused"),
    ],
)
def test_only_plain_http_urls_are_fetched(text: str, message: str) -> None:
    with pytest.raises(TaskRejected, match=message):
        find_url(text)


def test_unclosed_and_nested_markup_still_extracts() -> None:
    page = extract_html("<p>one<p>two<div><span>three</div><script>x=1", "http://h/")
    assert page["text"] == "one\n\ntwo\n\nthree"
