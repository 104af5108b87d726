"""Template source rules that Django does not enforce itself."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parents[1] / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_single_line_comments_close_on_their_line(template: Path):
    """`{# … #}` spans one line only; a longer one is shown on the page as text."""
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        if "{#" in line:
            assert "#}" in line[line.index("{#") :], f"{template.name}:{number} opens {{# alone"
