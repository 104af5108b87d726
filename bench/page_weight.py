"""Page weight: the chat page of a 50-message conversation, loaded cold in headless Chromium.

Counts requests and bytes transferred (as served: whitenoise sends pre-compressed static files;
what the HTML would weigh gzipped is computed beside it), and the time until the composer is
usable: the page has run its scripts and the chat socket is open.
`python -m bench.page_weight [--loads 5]`
"""

from __future__ import annotations

import argparse
import gzip
import statistics
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench.harness import MODEL, Seeded, Site, prepared_site, seed_users, serve, table
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

# Records when the htmx ws extension reports the socket open.
WATCH_SOCKET = """
window.__benchSocketOpen = null;
document.addEventListener("htmx:wsOpen", () => {
  if (window.__benchSocketOpen === null) window.__benchSocketOpen = performance.now();
});
"""
USABLE = """() => {
  const box = document.querySelector("#composer-input");
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    ready: !!box && !box.disabled && window.__benchSocketOpen !== null,
    socket: window.__benchSocketOpen,
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
  };
}"""

REPLY = """Here is how to read a file line by line in **Python**, with a note on encodings.

1. Open the file with a `with` block, so it is closed even on errors.
2. Iterate over the file object: it yields one line at a time.
3. Strip the newline if you do not need it.

```python
from pathlib import Path

def count_words(path: Path) -> int:
    total = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            total += len(line.split())
    return total
```

| approach | memory | speed |
|----------|--------|-------|
| `read()` | whole file | fast |
| iterate  | one line   | fast |

Passing `encoding` explicitly avoids surprises on machines whose default is not UTF-8.
"""
QUESTION = "How do I count the words in a large text file without loading it all at once?"


def seed_conversation(user: Seeded, messages: int) -> str:
    from conversations.models import Conversation, Message

    conversation = Conversation.objects.get(pk=user.conversation_ids[0])
    rows = []
    for index in range(messages):
        if index % 2 == 0:
            rows.append(Message(conversation=conversation, role="user", content=QUESTION))
        else:
            rows.append(
                Message(
                    conversation=conversation,
                    role="assistant",
                    content=REPLY,
                    state="complete",
                    model=MODEL,
                    prompt_eval_count=30,
                    eval_count=180,
                    eval_duration_ns=3_000_000_000,
                )
            )
    Message.objects.bulk_create(rows)
    return str(conversation.id)


def cold_loads(site: Site, user: Seeded, path: str, loads: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            for _ in range(loads):
                results.append(_one_load(browser, site, user, path))
        finally:
            browser.close()
    return results


def _one_load(browser, site: Site, user: Seeded, path: str) -> dict[str, float]:  # noqa: ANN001
    # Playwright polls its readiness check with eval, which the site's CSP forbids.
    context = browser.new_context(base_url=site.url, bypass_csp=True)
    context.add_cookies([{"name": "sessionid", "value": user.cookie, "url": site.url}])
    context.add_init_script(WATCH_SOCKET)
    page = context.new_page()
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    try:
        page.goto(path, wait_until="load")
        page.wait_for_function(f"({USABLE})().ready", timeout=15_000)
        timing = page.evaluate(USABLE)
        page.wait_for_timeout(200)
        transferred = 0
        for request in responses:
            sizes = request.sizes()
            transferred += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        return {
            "requests": len(responses),
            "sockets": 1,
            "bytes": transferred,
            "usable_ms": max(timing["socket"], timing["dcl"]),
            "dcl_ms": timing["dcl"],
            "socket_ms": timing["socket"],
        }
    finally:
        context.close()


def html_sizes(site: Site, user: Seeded, path: str) -> tuple[int, int, str]:
    headers = {"Accept-Encoding": "gzip, deflate, br"}
    with httpx.Client(base_url=site.url, cookies={"sessionid": user.cookie}) as client:
        response = client.get(path, headers=headers)
        raw = response.content
        served = response.headers.get("content-encoding", "none")
    return len(raw), len(gzip.compress(raw, 6)), served


def static_sizes(site: Site, user: Seeded, path: str) -> list[list[str]]:
    """Each static file the page links, as served to a browser asking for br/gzip."""
    import re

    headers = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    rows = []
    with httpx.Client(base_url=site.url, cookies={"sessionid": user.cookie}) as client:
        html = client.get(path).text
        for url in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html))):
            response = client.get(url, headers=headers)
            encoding = response.headers.get("content-encoding", "none")
            length = response.headers.get("content-length", "?")
            rows.append([url.rsplit("/", 1)[-1], encoding, length, str(len(response.content))])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"chromium not found at {CHROMIUM}: install Debian's chromium")
    with prepared_site(collectstatic=True) as site:
        (user,) = seed_users(1, 1)
        conversation_id = seed_conversation(user, args.messages)
        path = f"/c/{conversation_id}/"
        with serve(site):
            raw, gzipped, served = html_sizes(site, user, path)
            statics = static_sizes(site, user, path)
            loads = cold_loads(site, user, path, args.loads)
    median = {key: statistics.median(load[key] for load in loads) for key in loads[0]}
    spread = {key: (min(x[key] for x in loads), max(x[key] for x in loads)) for key in loads[0]}
    rows = [
        ["HTTP requests (cold cache)", f"{median['requests']:.0f}", "plus the chat websocket"],
        [
            "bytes transferred (as served)",
            f"{median['bytes'] / 1024:.1f} KiB",
            "headers and bodies, from Chromium's own counts",
        ],
        [
            "HTML document",
            f"{raw / 1024:.1f} KiB raw, served as Content-Encoding: {served}",
            f"{gzipped / 1024:.1f} KiB if gzipped (level 6)",
        ],
        [
            "composer usable (median of loads)",
            f"{median['usable_ms']:.0f} ms",
            f"range {spread['usable_ms'][0]:.0f}-{spread['usable_ms'][1]:.0f} ms; "
            f"DOMContentLoaded {median['dcl_ms']:.0f} ms, socket open {median['socket_ms']:.0f} ms",
        ],
    ]
    print(
        f"### Page weight (chat page, {args.messages}-message conversation, {args.loads} cold "
        "loads in headless Chromium)\n\n"
        + table(["figure", "value", "note"], rows)
        + "\n\nStatic files as served:\n\n"
        + table(["file", "Content-Encoding", "Content-Length", "bytes decoded"], statics)
        + "\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
