"""Model output to HTML: markdown-it renders, Pygments highlights code, nh3 sanitizes everything.
The one place untrusted text becomes markup, including the incremental form used while a reply
streams."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

# --- Markdown to HTML --------------------------------------------------------------------------

# Raw HTML is off so a model's `<script>` arrives as text; markdown-it also refuses javascript:,
# vbscript:, file: and most data: destinations, but nh3 below is the guard we rely on.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])

# Classes only (CSS in static/css/code.css), never inline styles.
_formatter = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def _lexer_for(language: str) -> Lexer:
    # No guessing: guess_lexer is slow and often wrong on short snippets. stripnl=False keeps the
    # block's leading blank lines, which are part of what the model wrote.
    try:
        return get_lexer_by_name(language.lower(), stripnl=False) if language else _plain_lexer()
    except ClassNotFound:
        return _plain_lexer()


def _plain_lexer() -> Lexer:
    lexer: Lexer = TextLexer(stripnl=False)  # types-Pygments leaves TextLexer untyped (Any)
    return lexer


def _code_block_html(code: str, language: str) -> str:
    highlighted = mark_safe(highlight(code, _lexer_for(language), _formatter))
    code_class = format_html(' class="language-{}"', language) if language else ""
    return format_html(
        '<div class="codeblock"><div class="codeblock-bar">'
        '<span class="codeblock-lang">{}</span>'
        '<button type="button" class="copy-code" aria-label="Copy code">Copy</button>'
        "</div><pre><code{}>{}</code></pre></div>\n",
        language or "text",
        code_class,
        highlighted,
    )


def _render_fence(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # The info string's first word names the language; it arrives still escaped, so decode it the
    # way markdown-it's own fence rule does.
    info = unescapeAll(tokens[idx].info).strip()
    language = info.split(maxsplit=1)[0] if info else ""
    return _code_block_html(tokens[idx].content, language)


def _render_code_block(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return _code_block_html(tokens[idx].content, "")


def _render_image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # Never an <img>: the browser would fetch the URL by itself, and nothing may leave the team's
    # machines without a person choosing to follow a link.
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    text = self.renderInlineAsText(token.children or [], options, env) or src
    if _inside_link(tokens, idx):
        # A link inside a link is invalid HTML; the outer link already goes somewhere.
        return format_html("{}", text)
    title = token.attrGet("title")
    if title:
        return format_html('<a href="{}" title="{}">{}</a>', src, title, text)
    return format_html('<a href="{}">{}</a>', src, text)


def _inside_link(tokens: Sequence[Token], idx: int) -> bool:
    depth = 0
    for token in reversed(tokens[:idx]):
        if token.type == "link_close":
            depth += 1
        elif token.type == "link_open":
            if depth == 0:
                return True
            depth -= 1
    return False


_markdown.add_render_rule("fence", _render_fence)
_markdown.add_render_rule("code_block", _render_code_block)
_markdown.add_render_rule("image", _render_image)

# --- Sanitizing ---------------------------------------------------------------------------------

_PYGMENTS_CLASSES = {name for name in STANDARD_TYPES.values() if name}

_sanitizer = nh3.Cleaner(
    tags={
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"),
        *("table", "thead", "tbody", "tr", "th", "td", "span", "div", "button"),
    },
    # No `style` anywhere: table alignment is dropped rather than allowing inline CSS.
    attributes={
        "a": {"href", "title"},
        "ol": {"start"},
        # The language class carries the model's info string; a class cannot execute anything.
        "code": {"class"},
        "button": {"type", "aria-label"},
    },
    allowed_classes={
        "span": _PYGMENTS_CLASSES | {"codeblock-lang"},
        "div": {"codeblock", "codeblock-bar"},
        "button": {"copy-code"},
    },
    url_schemes={"http", "https", "mailto"},
    # A relative link from a model points into this site by accident at best; drop it.
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    # A code block scrolls sideways on a narrow screen: focusable, keyboard users can scroll it.
    set_tag_attribute_values={"a": {"target": "_blank"}, "pre": {"tabindex": "0"}},
    strip_comments=True,
)


# Markdown and highlighting cost about 5 µs of CPU a character (a 2 MB code block: 10 s). Past
# this length a message is shown as plain text, so opening it never costs more than a moment.
MARKDOWN_MAX_CHARS = 200_000


def render_markdown(text: str) -> SafeString:
    """Render untrusted Markdown to sanitized HTML, safe to put in a template unescaped."""
    if len(text) > MARKDOWN_MAX_CHARS:
        return format_html(
            '<p class="hint too-long">This message is {} characters long, too long to format, so '
            'it is shown as plain text.</p><pre class="plain-text">{}</pre>',
            f"{len(text):,}",
            text,
        )
    return mark_safe(_sanitizer.clean(_markdown.render(text)))


# --- Incremental rendering while a reply streams ------------------------------------------------

# CommonMark fences: up to 3 spaces of indent, then 3+ backticks or tildes. A closing fence uses the
# same character, at least as many of them, and nothing but spaces after.
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*\r?")


class _BlockScanner:
    """Finds the ends of complete top-level blocks in text that arrives in pieces.

    Each complete line is read exactly once, so feeding a whole reply costs time linear in its
    length however it is cut up; only the current, unfinished line is held back.
    """

    def __init__(self, position: int = 0) -> None:
        self.boundary = position
        self._line_start = position
        self._pending: list[str] = []
        # (fence character, fence length) while inside a fenced code block.
        self._fence: tuple[str, int] | None = None

    def feed(self, piece: str) -> int:
        """Read `piece` and return the latest boundary found so far."""
        self._pending.append(piece)
        if "\n" not in piece:
            return self.boundary
        chunk = "".join(self._pending)
        pos = 0
        while (newline := chunk.find("\n", pos)) != -1:
            self._read_line(chunk[pos:newline], self._line_start + pos, self._line_start + newline)
            pos = newline + 1
        self._pending = [chunk[pos:]]
        self._line_start += pos
        return self.boundary

    def _read_line(self, line: str, start: int, newline: int) -> None:
        if self._fence is not None:
            closing = _FENCE_CLOSE.fullmatch(line)
            char, length = self._fence
            if closing and closing[1][0] == char and len(closing[1]) >= length:
                self._fence = None
                self.boundary = newline + 1
            return
        if not line.strip(" \t\r"):
            # A blank line only ends a block when something precedes it: "\n\n", or "\n" then a
            # whitespace-only line then "\n".
            if start > 0:
                self.boundary = newline + 1
            return
        opening = _FENCE_OPEN.match(line)
        # A backtick "fence" whose info string holds a backtick is inline code, e.g. ```x```.
        if opening and not (opening[1][0] == "`" and "`" in line[opening.end() :]):
            self._fence = (opening[1][0], len(opening[1]))


def stable_boundary(text: str, start: int = 0) -> int:
    """Return the largest end such that text[start:end] is made of complete top-level blocks.

    `start` must itself be a boundary (outside any fence). Returns `start` when no block is complete
    yet. Runs in time linear in len(text) - start.
    """
    if not 0 <= start <= len(text):
        raise ValueError(f"start {start} is outside the text (length {len(text)})")
    return _BlockScanner(start).feed(text[start:])


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """What one delta changed, for the client.

    When `tail_replaced`, append `new_blocks_html` then replace the shown tail with `tail`;
    otherwise append `appended_text` to the shown tail. The tail is raw text: escape it.
    """

    new_blocks_html: SafeString
    tail: str
    tail_replaced: bool
    appended_text: str


class StreamingRenderer:
    """Renders a streaming reply block group by block group, each character into HTML only once.

    Trade-off: groups are rendered separately, so the result can differ from rendering the whole
    message at once in rare cases — a loose list split by blank lines becomes several lists (ordered
    numbering survives through markdown-it's `start` attribute), an indented code block or a list
    item's continuation paragraph split by a blank line is rendered in pieces, and a fence indented
    four or more spaces (inside a list item) is not seen as a fence. The page rendered from the
    database renders the whole message at once, so these only show while a reply streams.
    """

    def __init__(self) -> None:
        # Text is kept in pieces and joined only when asked for: growing one long string per token
        # would copy the whole reply on every delta.
        self._parts: list[str] = []
        self._committed = 0
        self._tail = ""
        self._html_parts: list[str] = []
        self._scanner = _BlockScanner()
        self._finished = False

    @property
    def text(self) -> str:
        """Everything received so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def committed(self) -> int:
        """Index up to which the text has been rendered as final blocks."""
        return self._committed

    def feed(self, delta: str) -> StreamUpdate:
        """Take the next piece of the reply; render any blocks it completes."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        self._parts.append(delta)
        self._tail += delta
        boundary = self._scanner.feed(delta)
        if boundary <= self._committed:
            return StreamUpdate(SafeString(""), self._tail, False, delta)
        html = self._commit(boundary - self._committed)
        return StreamUpdate(html, self._tail, True, "")

    def finish(self) -> SafeString:
        """Render whatever is left as final blocks and return its HTML."""
        self._finished = True
        return self._commit(len(self._tail)) if self._tail else SafeString("")

    def snapshot(self) -> tuple[SafeString, str]:
        """(HTML of every committed block, raw tail), for a socket that joins mid-stream."""
        return mark_safe("".join(self._html_parts)), self._tail

    def _commit(self, length: int) -> SafeString:
        html = render_markdown(self._tail[:length])
        self._tail = self._tail[length:]
        self._committed += length
        self._html_parts.append(html)
        return html
