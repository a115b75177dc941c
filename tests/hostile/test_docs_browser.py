"""/docs in a real browser with no network beyond the service: Swagger UI renders from the
service's own assets, Authorize takes a key under `bearer`, and "Try it out" then Execute
gets a 200 with the key sent as `Authorization: Bearer`; /redoc renders too.

Needs a Chromium (`chromium` on PATH, Debian's package); skipped where there is none, since
the project does not install a browser."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.hostile.world import World, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")

# One authenticated read per service: its Swagger UI block id and path.
OPERATIONS = {"case": "operations-cases-list_cases_v1_cases_get",
              "contact": "operations-compliance-policy_packs_v1_policy_packs_get",
              "billing": "operations-invoices-list_invoices_v1_invoices_get"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("browser"))
    w.seed()
    yield w
    w.close()


class Page:
    """A Chrome DevTools Protocol session on one tab."""

    def __init__(self, socket_: Any):
        self.ws, self.n = socket_, 0

    async def command(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        await self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            message: dict[str, Any] = json.loads(await self.ws.recv())
            if message.get("id") == self.n:
                return message

    async def js(self, expression: str) -> Any:
        answer = await self.command("Runtime.evaluate", expression=expression,
                                    awaitPromise=True, returnByValue=True)
        return answer["result"].get("result", {}).get("value")

    async def wait_for(self, expression: str, seconds: float = 20) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"never true: {expression}")


async def try_it_out(url: str, key: str, block: str, profile: Path) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert CHROMIUM is not None
    chrome = subprocess.Popen(  # every request but the service's own goes to a dead proxy
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
         f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=127.0.0.1", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                    tabs = json.load(r)
                break
            except OSError:
                assert time.monotonic() < deadline, "chromium did not start"
                await asyncio.sleep(0.1)
        target = next(t for t in tabs if t["type"] == "page")["webSocketDebuggerUrl"]
        async with websockets.connect(target, max_size=2**24) as ws:
            page = Page(ws)
            await page.command("Page.enable")
            await page.command("Page.navigate", url=f"{url}/docs")
            found: dict[str, Any] = {}
            found["operations"] = await page.wait_for(
                "document.querySelectorAll('.opblock').length")
            await page.js("document.querySelector('.btn.authorize').click()")
            await page.wait_for("!!document.querySelector('.auth-container input')")
            await page.js(f"""(() => {{
                const input = document.querySelector('.auth-container input');
                const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype,
                                                            'value').set;
                set.call(input, {json.dumps(key)});
                input.dispatchEvent(new Event('input', {{bubbles: true}}));
            }})()""")
            await page.js("document.querySelector('.auth-container .modal-btn.authorize')"
                          ".click()")
            found["authorized"] = await page.wait_for(
                "document.querySelector('.auth-container')?.innerText.includes('Authorized')")
            await page.js("document.querySelector('.btn-done')?.click()")
            await page.js(f"document.querySelector('#{block} button.opblock-summary-control')"
                          ".click()")
            await page.wait_for(f"!!document.querySelector('#{block} .try-out__btn')")
            await page.js(f"""(b => b.innerText.trim() === 'Try it out' && b.click())(
                document.querySelector('#{block} .try-out__btn'))""")
            await page.wait_for(f"!!document.querySelector('#{block} .execute')")
            await page.js(f"document.querySelector('#{block} .execute').click()")
            found["status"] = await page.wait_for(
                f"document.querySelector('#{block} .live-responses-table tbody "
                ".response-col_status')?.innerText")
            found["curl"] = await page.js(f"document.querySelector('#{block} .curl-command')"
                                          "?.innerText")
            await page.command("Page.navigate", url=f"{url}/redoc")
            found["redoc"] = await page.wait_for(
                "document.querySelector('.api-content h1')?.innerText")
            return found
    finally:
        chrome.terminate()
        chrome.wait(timeout=10)


@pytest.mark.parametrize("service", ["case", "contact", "billing"])
def test_try_it_out_works_after_authorize_with_no_internet(world: World, service: str,
                                                           tmp_path: Path) -> None:
    key = world.keys["auditor"]
    with serve(world.apps[service]) as url:
        found = asyncio.run(try_it_out(url, key, OPERATIONS[service], tmp_path / "profile"))
    assert found["operations"] > 5
    assert found["authorized"]
    assert found["status"].strip() == "200", found
    assert f"Authorization: Bearer {key}" in found["curl"]
    assert found["redoc"].startswith(f"casetrail {service} service")
