from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from apps.marketdata.fanout import quote_html

register = template.Library()


@register.simple_tag
def quote_row(q: dict[str, Any], oob: bool = False) -> SafeString:
    # The same renderer the live feed uses, so a pushed row and a page-load row are identical.
    return mark_safe(quote_html(q, oob=bool(oob)))  # noqa: S308 - quote_html escapes the only free text (the name)
