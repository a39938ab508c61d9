"""Headless Chromium driven through the Chrome DevTools protocol, for the tests that read the
built book in a real browser: a local HTTP server, a fresh browser with a new profile, and one
page visit that collects console errors, failed requests and what the page contains."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
]
PAGE_TIMEOUT = 30.0
QUIET_PERIOD = 0.4

pytestmark = pytest.mark.book


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


# --- a minimal Chrome DevTools protocol client -------------------------------------------------


class DevTools:
    """One websocket to the browser; commands to a page go through a flattened session."""

    def __init__(self, url: str):
        import websocket  # websocket-client

        self.socket = websocket.create_connection(url, timeout=PAGE_TIMEOUT, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def poll(self, seconds: float) -> None:
        """Collect events for up to ``seconds``."""
        import websocket

        self.socket.settimeout(seconds)
        try:
            while True:
                reply = json.loads(self.socket.recv())
                if "method" in reply:
                    self.events.append(reply)
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.socket.settimeout(PAGE_TIMEOUT)

    def close(self) -> None:
        self.socket.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _start_browser(executable: str, profile: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + PAGE_TIMEOUT
    while time.monotonic() < deadline:
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return process, f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{executable} did not open its DevTools port")


# JavaScript run in each page once it has loaded: wait for MathJax, force and await every image,
# then report images, links and element ids.
_INSPECT = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return {
    images: images.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                                width: img.naturalWidth})),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    ids: [...document.querySelectorAll("[id]")].map(e => e.id)
         .concat([...document.querySelectorAll("a[name]")].map(a => a.name)),
    mathErrors: document.querySelectorAll("mjx-merror, .MathJax_Error").length,
    mathSource: document.querySelectorAll(".math").length,
    mathRendered: document.querySelectorAll(".math mjx-container, mjx-container.MathJax").length,
  };
})()
"""


def _visit(tools: DevTools, session: str, url: str, origin: str) -> dict:
    """Open one page; return its problems and what it contains."""
    tools.events.clear()
    tools.send("Page.navigate", {"url": url}, session)
    deadline = time.monotonic() + PAGE_TIMEOUT
    loaded = False
    pending: set[str] = set()
    seen = 0
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        tools.poll(0.1)
        for event in tools.events[seen:]:
            name, params = event["method"], event.get("params", {})
            if name == "Page.loadEventFired":
                loaded = True
            elif name == "Network.requestWillBeSent":
                pending.add(params["requestId"])
                quiet_since = time.monotonic()
            elif name in ("Network.loadingFinished", "Network.loadingFailed"):
                pending.discard(params["requestId"])
                quiet_since = time.monotonic()
        seen = len(tools.events)
        if loaded and not pending and time.monotonic() - quiet_since > QUIET_PERIOD:
            break
    problems: list[str] = []
    if not loaded:
        problems.append("the load event never fired")
    result = tools.send(
        "Runtime.evaluate", {"expression": _INSPECT, "awaitPromise": True, "returnByValue": True}, session
    )
    if "exceptionDetails" in result:
        problems.append(f"inspection script failed: {result['exceptionDetails'].get('text')}")
        content = {"images": [], "links": [], "ids": [], "mathErrors": 0, "mathSource": 0, "mathRendered": 0}
    else:
        content = result["result"]["value"]
    tools.poll(0.2)
    for event in tools.events:
        name, params = event["method"], event.get("params", {})
        if name == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console.{params['type']}: {text}")
        elif name == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            problems.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif name == "Log.entryAdded" and params["entry"].get("level") == "error":
            problems.append(f"log error: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif name == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"failed request: {params.get('errorText')} ({params.get('type')})")
        elif name == "Network.requestWillBeSent":
            request_url = params["request"]["url"]
            if urlsplit(request_url).scheme in ("http", "https", "ws", "wss") and not request_url.startswith(origin):
                problems.append(f"request to another host: {request_url}")
        elif name == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            problems.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
    if content.get("mathErrors"):
        problems.append(f"{content['mathErrors']} MathJax error(s)")
    return {"problems": problems, **content}


@contextlib.contextmanager
def _browser_session():
    """A fresh headless Chromium with one page attached: yields (tools, session)."""
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed (CI installs it with .ci/install-system.sh)")
        pytest.skip("Chromium is not installed; install it with .ci/install-system.sh")
    profile = Path(tempfile.mkdtemp(prefix="nkreport-chromium-"))
    process, ws_url = _start_browser(executable, profile)
    try:
        tools = DevTools(ws_url)
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            tools.send(f"{domain}.enable", {}, session)
        tools.send("Network.setCacheDisabled", {"cacheDisabled": True}, session)
        yield tools, session
        tools.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


# --- the page as a reader sees it: layout at a given width, accessibility, screenshots ---------

#: Where .ci/install-system.sh installs the accessibility engine (axe-core, by package name).
AXE_JS = Path(os.environ.get("NKREPORT_NODE_PREFIX", "/opt/nkreport-node")) / "node_modules" / "axe-core" / "axe.min.js"


def set_width(tools: DevTools, session: str, width: int, height: int = 900) -> None:
    """Lay the page out as a window ``width`` CSS pixels wide (a phone: 390)."""
    tools.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        session,
    )


# Tables and display equations that do not fit: a table's scroll container wider inside than
# outside, a caption running past its container, an equation wider than its block.
_LAYOUT = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const tables = [...document.querySelectorAll(".pst-scrollable-table-container")].map(box => {
    const table = box.querySelector("table");
    const caption = table ? table.querySelector("caption") : null;
    const b = box.getBoundingClientRect();
    let clipped = false;
    if (caption) {
      const c = caption.getBoundingClientRect();
      clipped = c.right > b.right + 1 || c.left < b.left - 1 || caption.scrollWidth > caption.clientWidth + 1;
    }
    return {name: (table && table.id) || (caption ? caption.innerText.slice(0, 60) : "a table"),
            scrolls: box.scrollWidth > box.clientWidth + 1, clipped,
            content: box.scrollWidth, room: box.clientWidth};
  });
  const math = [...document.querySelectorAll('mjx-container[display="true"]')].map(m => {
    const block = m.parentElement.getBoundingClientRect();
    const shown = (m.firstElementChild || m).getBoundingClientRect();
    return {overflows: m.scrollWidth > m.clientWidth + 1 || shown.right > block.right + 1,
            content: Math.round(shown.width), room: Math.round(block.width)};
  });
  return {tables, math, pageScrolls: document.documentElement.scrollWidth > window.innerWidth + 1};
})()
"""


def _evaluate(tools: DevTools, session: str, expression: str):
    result = tools.send(
        "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, session
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"script failed: {result['exceptionDetails'].get('text')}")
    return result["result"].get("value")


def layout(tools: DevTools, session: str, url: str, origin: str, width: int) -> dict:
    """Open ``url`` at ``width`` px; return its tables and display equations that do not fit."""
    set_width(tools, session, width)
    _visit(tools, session, url, origin)
    return _evaluate(tools, session, _LAYOUT)


def axe_violations(tools: DevTools, session: str, url: str, origin: str, impacts=("serious", "critical")) -> list:
    """axe-core's violations of the given impacts on one page (the page is opened first)."""
    if not AXE_JS.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is not installed at {AXE_JS} (CI installs it with .ci/install-system.sh)")
        pytest.skip(f"axe-core is not installed at {AXE_JS}; install it with .ci/install-system.sh")
    _visit(tools, session, url, origin)
    _evaluate(tools, session, AXE_JS.read_text(encoding="utf-8") + "\n;true")
    wanted = json.dumps(list(impacts))
    return _evaluate(
        tools,
        session,
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
        f".filter(v => {wanted}.includes(v.impact))"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,"
        " targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))",
    )


def screenshot(tools: DevTools, session: str, url: str, origin: str, width: int, path: Path, height: int = 2400):
    """A PNG of the top ``height`` px of ``url`` laid out at ``width`` px."""
    import base64

    set_width(tools, session, width, height)
    _visit(tools, session, url, origin)
    _evaluate(tools, session, _INSPECT)
    data = tools.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
    Path(path).write_bytes(base64.b64decode(data))
    return path
