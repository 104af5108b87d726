"""conversations.chat.rendering: safe HTML from Markdown, block boundaries, streaming."""

from __future__ import annotations

import re

import pytest
from django.utils.safestring import SafeString

from conversations.chat.rendering import (
    StreamingRenderer,
    StreamUpdate,
    render_markdown,
    stable_boundary,
)

# --- render_markdown: Markdown ------------------------------------------------------------------


def test_render_markdown_returns_a_safe_string():
    assert isinstance(render_markdown("hello"), SafeString)


def test_paragraphs_become_p_elements():
    assert render_markdown("one\n\ntwo") == "<p>one</p>\n<p>two</p>\n"


def test_emphasis_and_strong_emphasis_are_rendered():
    html = render_markdown("*soft* and **loud**")
    assert "<em>soft</em>" in html
    assert "<strong>loud</strong>" in html


def test_strikethrough_is_rendered():
    assert "<s>gone</s>" in render_markdown("~~gone~~")


def test_bullet_lists_are_rendered():
    html = render_markdown("- one\n- two\n")
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html


def test_ordered_lists_keep_their_start_number():
    assert '<ol start="3">' in render_markdown("3. three\n4. four\n")


def test_headings_quotes_and_rules_are_rendered():
    html = render_markdown("## Title\n\n> quoted\n\n---\n")
    assert "<h2>Title</h2>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    assert "<hr>" in html


def test_tables_are_rendered_without_inline_styles():
    html = render_markdown("| left | right |\n|:-----|------:|\n| a | 1 |\n")
    assert "<table>" in html
    assert "<th>left</th>" in html
    assert "<td>1</td>" in html
    assert "style" not in html


def test_inline_code_is_escaped():
    assert "<code>&lt;b&gt;</code>" in render_markdown("use `<b>` here")


# --- render_markdown: code blocks ---------------------------------------------------------------


def test_fenced_code_is_highlighted_with_language_label_and_copy_button():
    html = render_markdown("```python\ndef f(x):\n    return x < 1\n```\n")
    assert html.startswith(
        '<div class="codeblock"><div class="codeblock-bar">'
        '<span class="codeblock-lang">python</span>'
        '<button type="button" class="copy-code" aria-label="Copy code">Copy</button>'
        '</div><pre tabindex="0"><code class="language-python">'
    )
    assert '<span class="k">def</span>' in html
    assert '<span class="o">&lt;</span>' in html
    assert "style=" not in html


def test_unknown_language_falls_back_to_plain_escaped_code():
    html = render_markdown("```nosuchlang\nif <b> then\n```\n")
    assert '<span class="codeblock-lang">nosuchlang</span>' in html
    assert '<code class="language-nosuchlang">if &lt;b&gt; then\n</code>' in html


def test_fenced_code_without_language_is_plain_text_and_not_guessed():
    html = render_markdown("```\ndef f(): pass\n```\n")
    assert '<span class="codeblock-lang">text</span>' in html
    assert '<pre tabindex="0"><code>def f(): pass\n</code></pre>' in html


def test_indented_code_blocks_get_the_same_wrapper():
    html = render_markdown("    x = <1>\n")
    assert '<div class="codeblock">' in html
    assert '<pre tabindex="0"><code>x = &lt;1&gt;\n</code></pre>' in html


def test_leading_blank_lines_inside_code_are_kept():
    assert "<code>\nx\n</code>" in render_markdown("```\n\nx\n```\n")


def test_a_hostile_info_string_cannot_break_out_of_the_code_block():
    html = render_markdown('```"><script>alert(1)</script>\ncode\n```\n')
    assert "<script" not in html
    assert html.count("<div") == 2


# --- render_markdown: untrusted input -----------------------------------------------------------


def test_script_tags_in_text_are_escaped():
    html = render_markdown("<script>alert(1)</script>")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_img_tags_with_event_handlers_do_not_survive():
    html = render_markdown('<img src=x onerror=alert(1)>\n\n<a href="#" onclick="x()">a</a>')
    assert "<img" not in html
    assert not re.search(r"<[^>]*\sonerror=", html)
    assert not re.search(r"<[^>]*\sonclick=", html)


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](&#x6A;avascript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](<java\x01script:alert(1)>)",
        "[x]( javascript:alert(1))",
        "<javascript:alert(1)>",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/png;base64,AAAA)",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
    ],
)
def test_dangerous_link_schemes_never_become_hrefs(source):
    html = render_markdown(source)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == []


def test_images_become_links_labelled_with_their_alt_text():
    html = render_markdown("![a chart](http://evil.example/p.png)")
    assert "<img" not in html
    assert '<a href="http://evil.example/p.png"' in html
    assert ">a chart</a>" in html


def test_images_without_alt_text_are_labelled_with_their_url():
    html = render_markdown('![](https://example.com/p.png "A title")')
    assert "<img" not in html
    assert 'title="A title"' in html
    assert ">https://example.com/p.png</a>" in html


def test_an_image_inside_a_link_does_not_nest_links():
    html = render_markdown("[![logo](http://evil.example/l.png)](https://example.com)")
    assert "<img" not in html
    assert html.count("<a ") == 1
    assert "evil.example" not in html


def test_links_open_in_a_new_tab_without_referrer():
    html = render_markdown("[docs](https://example.com/docs)")
    assert 'href="https://example.com/docs"' in html
    assert 'target="_blank"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_mailto_links_are_kept_and_relative_links_are_dropped():
    html = render_markdown("[mail](mailto:a@example.com) [here](/admin/) [proto](//evil.example/)")
    assert re.findall(r'href="([^"]*)"', html) == ["mailto:a@example.com"]


# --- stable_boundary ----------------------------------------------------------------------------


def test_text_without_a_blank_line_has_no_boundary():
    assert stable_boundary("Hello\nworld\n") == 0


def test_boundary_is_just_after_a_blank_line():
    assert stable_boundary("Hello\n\nworld") == len("Hello\n\n")


def test_a_whitespace_only_line_counts_as_blank():
    assert stable_boundary("Hello\n  \t\nworld") == len("Hello\n  \t\n")


def test_boundary_is_the_last_blank_line():
    assert stable_boundary("a\n\nb\n\nc") == len("a\n\nb\n\n")


def test_a_blank_line_inside_an_open_fence_is_not_a_boundary():
    assert stable_boundary("```python\nx = 1\n\ny = 2\n") == 0


def test_a_closed_fence_is_complete_once_its_closing_line_ends():
    assert stable_boundary("```\nx\n\ny\n```") == 0
    assert stable_boundary("```\nx\n\ny\n```\n") == len("```\nx\n\ny\n```\n")
    assert stable_boundary("```\nx\n```\nafter") == len("```\nx\n```\n")


def test_tilde_fences_are_only_closed_by_tildes():
    text = "~~~\na\n```\n\nb\n~~~\n"
    assert stable_boundary(text) == len(text)
    assert stable_boundary("~~~\na\n```\n\nb\n") == 0


def test_a_closing_fence_must_be_at_least_as_long_as_the_opening():
    assert stable_boundary("````\na\n```\n\nb\n") == 0
    text = "```\na\n\n`````\n"
    assert stable_boundary(text) == len(text)


def test_a_closing_fence_may_not_carry_an_info_string():
    assert stable_boundary("```\na\n``` python\n\nb\n") == 0


def test_fences_may_be_indented_up_to_three_spaces():
    text = "   ```\na\n\nb\n  ```\n"
    assert stable_boundary(text) == len(text)


def test_four_spaces_of_indent_make_code_not_a_fence():
    assert stable_boundary("    ```\na\n\nb") == len("    ```\na\n\n")


def test_inline_triple_backticks_do_not_open_a_fence():
    assert stable_boundary("```x```\n\nmore") == len("```x```\n\n")


def test_scanning_starts_at_the_given_offset():
    text = "a\n\nb\n\nc"
    assert stable_boundary(text, 3) == 6
    assert stable_boundary(text, 6) == 6
    assert stable_boundary(text, len(text)) == len(text)


def test_an_offset_outside_the_text_is_refused():
    with pytest.raises(ValueError):
        stable_boundary("abc", 4)


# --- StreamingRenderer ---------------------------------------------------------------------------

MIXED_REPLY = """# Plan

Here is a paragraph with *emphasis*, `inline code` and a [link](https://example.com).
It continues on a second line.

- first item
- second item with **bold**
- third item

```python
def greet(name: str) -> str:

    return f"Hello, {name} <3"
```
Right after the fence, a paragraph.

~~~
plain tilde block

with a blank line
~~~

| a | b |
|---|---|
| 1 | 2 |

1. one
2. two

Final words.
"""

PROSE = (
    "The quick brown fox jumps over the lazy dog, and then it rests for a while in the sun. "
    "Another sentence follows, long enough to make the paragraph feel like real prose.\n\n"
)


def cut(text: str) -> list[str]:
    """Split text into deltas of 1 to 3 characters (2 on average), like small model tokens."""
    deltas, pos, turn = [], 0, 0
    while pos < len(text):
        step = (1, 2, 3, 2)[turn % 4]
        deltas.append(text[pos : pos + step])
        pos += step
        turn += 1
    return deltas


def expected_groups(deltas: list[str]) -> list[str]:
    """The block groups a renderer must commit, found with stable_boundary after each delta."""
    text, last, groups = "", 0, []
    for delta in deltas:
        text += delta
        boundary = stable_boundary(text, last)
        if boundary > last:
            groups.append(text[last:boundary])
            last = boundary
    if last < len(text):
        groups.append(text[last:])
    return groups


def stream(deltas: list[str]) -> tuple[StreamingRenderer, list[StreamUpdate], str]:
    renderer = StreamingRenderer()
    updates = [renderer.feed(delta) for delta in deltas]
    return renderer, updates, renderer.finish()


def test_streaming_renders_each_block_group_exactly_once():
    deltas = cut(MIXED_REPLY * 12)
    assert len(deltas) >= 2000
    _, updates, final = stream(deltas)
    streamed = "".join(update.new_blocks_html for update in updates) + final
    assert streamed == "".join(render_markdown(group) for group in expected_groups(deltas))


def test_streaming_a_plain_document_matches_rendering_it_whole():
    _, updates, final = stream(cut(MIXED_REPLY))
    assert "".join(update.new_blocks_html for update in updates) + final == render_markdown(
        MIXED_REPLY
    )


def test_appended_text_and_replaced_tails_reconstruct_the_raw_text():
    renderer = StreamingRenderer()
    shown_tail = ""
    for delta in cut(MIXED_REPLY * 12):
        update = renderer.feed(delta)
        if update.tail_replaced:
            assert update.appended_text == ""
            shown_tail = update.tail
        else:
            assert update.new_blocks_html == ""
            assert update.appended_text == delta
            shown_tail += update.appended_text
        assert shown_tail == update.tail == renderer.text[renderer.committed :]
    assert renderer.text[: renderer.committed] + shown_tail == MIXED_REPLY * 12


def test_updates_for_a_prose_reply_stay_within_three_times_its_length():
    text = PROSE * 30
    _, updates, final = stream(cut(text))
    sent = len(final) + sum(
        len(update.new_blocks_html)
        + len(update.appended_text)
        + (len(update.tail) if update.tail_replaced else 0)
        for update in updates
    )
    assert sent <= 3 * len(text)


def test_feeding_twenty_thousand_small_deltas_is_fast():
    # No timing assertion: the suite's timeout is the guard against quadratic work.
    text = PROSE * 250
    deltas = cut(text)
    assert len(deltas) >= 20_000
    renderer, _, _ = stream(deltas)
    assert renderer.committed == len(text)


def test_a_long_open_fence_is_scanned_incrementally():
    deltas = ["```\n"] + ["x = 1\n\n"] * 20_000
    renderer = StreamingRenderer()
    assert not any(renderer.feed(delta).tail_replaced for delta in deltas)
    assert renderer.committed == 0
    assert renderer.feed("```\n").tail_replaced
    assert renderer.committed == len(renderer.text)


def test_snapshot_mid_stream_is_the_committed_html_plus_the_tail():
    renderer = StreamingRenderer()
    deltas = cut(MIXED_REPLY)
    html = ""
    for delta in deltas[:200]:
        html += renderer.feed(delta).new_blocks_html
    committed_html, tail = renderer.snapshot()
    assert renderer.committed > 0
    assert committed_html == html
    assert isinstance(committed_html, SafeString)
    assert tail == renderer.text[renderer.committed :]
    assert tail


def test_finish_renders_an_unclosed_fence_and_commits_everything():
    renderer = StreamingRenderer()
    renderer.feed("Intro.\n\n```python\nx = 1\n")
    final = renderer.finish()
    assert '<code class="language-python">' in final
    assert renderer.committed == len(renderer.text)
    assert renderer.snapshot() == (render_markdown("Intro.\n\n") + final, "")


def test_finish_with_nothing_left_returns_empty_html():
    renderer = StreamingRenderer()
    renderer.feed("Done.\n\n")
    assert renderer.finish() == ""


def test_feeding_after_finish_is_refused():
    renderer = StreamingRenderer()
    renderer.finish()
    with pytest.raises(RuntimeError):
        renderer.feed("late")


def test_streamed_tail_is_raw_text_for_the_template_to_escape():
    update = StreamingRenderer().feed("<script>alert(1)</script>")
    assert update.tail == "<script>alert(1)</script>"
    assert update.appended_text == "<script>alert(1)</script>"
    assert not update.tail_replaced
