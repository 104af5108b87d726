"""Template filters for the models page: durations and transfer speeds in plain words."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """`75` -> "1 min 15 s"; empty for None."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@register.filter
def speed(bytes_per_second: int | None) -> str:
    if not bytes_per_second:
        return ""
    return f"{filesizeformat(bytes_per_second)}/s"
