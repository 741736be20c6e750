"""What every atqbo email's HTML shares: the page around it, the inline styles, and escaping.

Inline styles only: mail clients drop ``<style>`` blocks and external sheets. Every value is
escaped (``escape``), so a company named ``<x>`` stays text.
"""

from __future__ import annotations

import html
from typing import Any

HTML_HEAD = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
    '<body style="margin:0;padding:16px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;'
    'font-size:14px;line-height:1.4;color:#1f2933;">'
    '<div style="max-width:1000px;margin:0 auto;background:#ffffff;border:1px solid #dde2e8;padding:20px;">'
)

S_H1 = "margin:0 0 4px 0;font-size:20px;color:#1f2933;"
S_H2 = "margin:20px 0 6px 0;font-size:16px;color:#1f2933;"
S_META = "margin:0 0 12px 0;color:#52606d;"
S_UL = "margin:0;padding-left:20px;"
S_DRY_RUN = (
    "margin:0 0 12px 0;padding:10px 12px;background:#fff4ce;border:1px solid #e0b400;color:#5c4400;font-weight:bold;"
)
S_TABLE = "border-collapse:collapse;width:100%;margin:0 0 8px 0;"
S_TH = "text-align:left;padding:6px 8px;border:1px solid #dde2e8;font-size:13px;"
S_TD = "text-align:left;vertical-align:top;padding:6px 8px;border:1px solid #dde2e8;"
S_TD_NUM = "text-align:right;vertical-align:top;padding:6px 8px;border:1px solid #dde2e8;white-space:nowrap;"


def html_foot(note: str) -> str:
    """The end of the page: a small line saying atqbo sent it, then ``note``."""
    return (
        '<p style="margin:20px 0 0 0;font-size:12px;color:#6b7785;">'
        f"Sent by atqbo. {escape(note)}</p></div></body></html>"
    )


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def escape_lines(value: Any) -> str:
    """Escaped, its line breaks kept as ``<br>``."""
    return escape(value).replace("\r\n", "\n").replace("\n", "<br>")
