"""The web reader: fetches a page at a URL the user gives and extracts its readable text.

HTML becomes plain text in reading order (headings marked with #, list items with -),
without scripts, styles, navigation, headers' menus or footers; when the page has a
<main> or <article> only that is kept. Plain text, CSV, JSON and Markdown come back as
they are (and under data["csv"] / data["json"], so the CSV analyst and the transform
agent can work on them). Only http and https are fetched, bodies are capped at
`max_bytes` (the cut is reported, never silent), redirects at five, and other content
types (images, PDFs) are refused. `block_private=True` also refuses loopback and
private addresses, for a mesh whose users should not reach its internal network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from mesh.errors import AgentUnavailable, TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult
from mesh.retry import retryable, retryable_status

DEFAULT_MAX_BYTES = 2_000_000
DEFAULT_TIMEOUT = 15.0
MAX_OUTPUT_CHARS = 100_000
MAX_LINKS = 100
USER_AGENT = "agentic-mesh-web-reader/0.1"
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>\"'`]+", re.I)
_TEXT_TYPES = {
    "text/plain": "text",
    "text/markdown": "text",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/json": "json",
    "application/ld+json": "json",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "canvas", "head"}
_SKIP |= {"nav", "footer", "aside", "form", "button", "select", "object"}
_BLOCK = {"p", "div", "section", "article", "main", "li", "tr", "br", "pre", "blockquote"}
_BLOCK |= {"table", "ul", "ol", "dl", "dt", "dd", "figcaption", "header", "hr", "h1", "h2"}
_BLOCK |= {"h3", "h4", "h5", "h6", "td", "th", "caption", "address", "details", "summary"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source"}


class _Extractor(HTMLParser):
    """Collects a page's title, readable text blocks and links in one pass."""

    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.title = ""
        self.description = ""
        self.links: list[dict[str, str]] = []
        self.blocks: list[tuple[bool, str]] = []  # (inside main/article, text)
        self.has_main = False
        self._stack: list[str] = []
        self._skip = 0
        self._main = 0
        self._pre = 0
        self._in_title = False
        self._line: list[str] = []
        self._prefix = ""
        self._link: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and values.get("name", "").lower() == "description":
            self.description = values.get("content", "").strip()
        if tag == "title":
            self._in_title = True
        if tag in _VOID:
            if tag in ("br", "hr"):
                self._flush()
            return
        self._stack.append(tag)
        if tag in _SKIP:
            self._skip += 1
        if tag in ("main", "article"):
            self._main += 1
            self.has_main = True
        if tag == "pre":
            self._pre += 1
        if tag in _BLOCK:
            self._flush()
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self._prefix = "#" * int(tag[1]) + " "
            elif tag == "li":
                self._prefix = "- "
        if tag == "a" and not self._skip:
            href = urljoin(self.base_url, values.get("href", "").strip())
            if urlsplit(href).scheme in ("http", "https"):
                self._link = {"href": href, "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag not in self._stack:
            return
        while self._stack:
            open_tag = self._stack.pop()
            self._close(open_tag)
            if open_tag == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip -= 1
        if tag in _BLOCK:
            self._flush()
        if tag in ("main", "article"):
            self._main -= 1
        if tag == "pre":
            self._pre -= 1
        if tag == "a" and self._link is not None:
            self._link["text"] = " ".join(self._link["text"].split())
            if len(self.links) < MAX_LINKS:
                self.links.append(self._link)
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        self._line.append(data if self._pre else re.sub(r"\s+", " ", data))
        if self._link is not None:
            self._link["text"] += data

    def _flush(self) -> None:
        text = "".join(self._line)
        text = text.strip("\n") if self._pre else text.strip()
        if text:
            self.blocks.append((self._main > 0, self._prefix + text))
        self._line, self._prefix = [], ""

    def text(self) -> str:
        self._flush()
        blocks = [t for inside, t in self.blocks if inside or not self.has_main]
        out: list[str] = []
        for index, block in enumerate(blocks):
            tight = index and block.startswith("- ") and blocks[index - 1].startswith("- ")
            out.append(("\n" if tight else "\n\n" if index else "") + block)
        return "".join(out)


def extract_html(html: str, base_url: str = "") -> dict[str, Any]:
    """Title, meta description, readable text and links of an HTML document."""
    parser = _Extractor(base_url)
    parser.feed(html)
    parser.close()
    return {
        "title": " ".join(parser.title.split()),
        "description": parser.description,
        "text": parser.text(),
        "links": parser.links,
    }


def find_url(text: str) -> str:
    """The first URL in `text`; only http and https are accepted."""
    match = _URL.search(text)
    if not match:
        raise TaskRejected(
            "found no URL in the task: give the full address, e.g."
            " 'extract the text from https://example.org/page.html'"
        )
    url = match[0].rstrip(".,;:!?)]}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise TaskRejected(f"cannot fetch {url!r}: only http:// and https:// URLs are read")
    if not parts.hostname:
        raise TaskRejected(f"{url!r} has no host name: give the full address")
    if parts.username or parts.password:
        raise TaskRejected(f"{parts.hostname}: URLs with a user name or password are refused")
    return url


def _check_public(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise AgentUnavailable(f"cannot resolve {host!r}: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local:
            raise TaskRejected(f"{host} is a private or loopback address: refused by this mesh")


class WebReader:
    """The web reader's handler; a fetch is one GET with the limits given here."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        block_private: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout, self.max_bytes = timeout, max_bytes
        self.block_private, self._transport = block_private, transport

    def __call__(self, req: TaskRequest) -> TaskResult:
        url = find_url(str(req.inputs.get("url") or req.description))
        data = self.fetch(url)
        body = data["text"]
        if data["kind"] == "html":
            body = (f"# {data['title']}\n\n" if data["title"] else "") + body
        if len(body) > MAX_OUTPUT_CHARS:
            body = body[:MAX_OUTPUT_CHARS] + f"\n\n[cut at {MAX_OUTPUT_CHARS:,} characters]"
        if data["truncated"]:
            body += f"\n\n[the page was longer than {self.max_bytes:,} bytes; read up to there]"
        return TaskResult(
            task_id=req.task_id, status="succeeded", agent="web-reader", output=body, data=data
        )

    def fetch(self, url: str) -> dict[str, Any]:
        """GET `url` and extract it; an error says what went wrong, in words.

        `TaskRejected` when another try would fail the same way (a refused address, a 4xx,
        a type it does not read); `AgentUnavailable` when it might not (a timeout, a refused
        connection, a failed lookup, a 5xx).
        """
        if self.block_private:
            _check_public(url)
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html, text/*;q=0.9, */*;q=0.1"}
        try:
            with (
                httpx.Client(
                    timeout=self.timeout,
                    follow_redirects=True,
                    max_redirects=5,
                    transport=self._transport,
                ) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                return self._read(url, response)
        except httpx.TimeoutException:
            raise AgentUnavailable(f"{url} did not answer within {self.timeout:g}s") from None
        except httpx.TooManyRedirects:
            raise TaskRejected(f"{url} redirects more than 5 times") from None
        except httpx.ConnectError as exc:
            raise AgentUnavailable(
                f"cannot reach {url} to fetch it: could not connect: {exc}"
            ) from None
        except httpx.HTTPError as exc:
            kind = AgentUnavailable if retryable(exc) else TaskRejected  # e.g. a redirect to ftp://
            raise kind(f"fetching {url} failed: {type(exc).__name__}: {exc}") from None

    def _read(self, url: str, response: httpx.Response) -> dict[str, Any]:
        final = str(response.url)
        if self.block_private and final != url:
            _check_public(final)
        if response.status_code >= 400:
            refused = f"{final} answered {response.status_code} {response.reason_phrase}"
            if retryable_status(response.status_code):  # 5xx, 408, 429: may pass next time
                raise AgentUnavailable(refused)
            raise TaskRejected(f"{refused}: check the address")
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        kind = _TEXT_TYPES.get(ctype) or ("text" if ctype.startswith("text/") else None)
        if kind is None:
            raise TaskRejected(
                f"{final} is {ctype or 'of no stated type'}, not a web page or text: the web"
                " reader reads HTML, plain text, CSV and JSON"
            )
        raw, truncated = bytearray(), False
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) > self.max_bytes:
                del raw[self.max_bytes :]
                truncated = True
                break
        text = bytes(raw).decode(response.encoding or "utf-8", errors="replace")
        data: dict[str, Any] = {"url": final, "status": response.status_code}
        data |= {"content_type": ctype, "kind": kind, "bytes": len(raw), "truncated": truncated}
        if kind == "html":
            page = extract_html(text, final)
            return data | page
        data |= {"title": "", "text": text}
        if kind in ("csv", "json"):
            data[kind] = text
        return data


WEB_READER_CARD = AgentCard(
    name="web-reader",
    description=(
        "Web page reader: fetches a web page or file at a URL you give and extracts its"
        " readable text, title and links; also fetches CSV, JSON and plain text files."
    ),
    tags=["web", "url", "fetch", "html", "scrape", "extract"],
    skills=[
        Skill(
            name="extract-text",
            description=(
                "Fetch the web page at a link (URL) and extract its main text, title and links,"
                " without scripts, menus or footers."
            ),
            tags=["web", "url", "html", "extract", "read"],
            examples=[
                "extract the text from https://example.org/article.html",
                "fetch https://example.org/report.html",
                "read the web page at https://example.org and list its links",
            ],
        ),
        Skill(
            name="download-data",
            description="Download a CSV, JSON or text file from an http(s) URL for analysis.",
            tags=["download", "csv", "json", "url"],
            examples=[
                "download https://example.org/sales.csv",
                "get the JSON at http://127.0.0.1:8000/data.json",
            ],
        ),
    ],
)
