"""The report's HTML email: escaped, well-formed, self-contained, failures first."""

from __future__ import annotations

from atqbo.notify import DRY_RUN_BANNER, RunReport
from tests.notify.html_support import parse_html
from tests.notify.report_support import NASTY_COMPANY, invoice_report


def test_inv21_html_escapes_values_and_stays_well_formed():
    html_text = invoice_report().to_html()
    parsed = parse_html(html_text)
    assert "<x>" not in html_text and "Sons <" not in html_text
    assert "O&#x27;Brien &amp; Sons &lt;x&gt;" in html_text
    assert NASTY_COMPANY in "".join(parsed.text)  # a reader sees the name as written
    assert "x" not in parsed.tags  # the company name did not become a tag
    # Self-contained: inline styles only, nothing fetched from elsewhere.
    assert "<style" not in html_text and "<link" not in html_text and "<script" not in html_text
    assert "src=" not in html_text and "http" not in html_text


def test_inv21_html_puts_failures_first_and_marks_them():
    html_text = invoice_report().to_html()
    order = [
        html_text.index(f">{title}<")
        for title in ("Failed (1)", "Warnings (1)", "Notes (1)", "Transferred (2)", "Skipped (1)")
    ]
    assert order == sorted(order)
    failed_section = html_text[html_text.index(">Failed (1)<") : html_text.index(">Warnings (1)<")]
    assert "border-left:4px solid #8a1c1c" in failed_section
    assert ">What failed<" in failed_section and ">How to fix<" in failed_section
    assert "Invoice total is negative (-50.00)<br>QBO cannot hold a negative invoice" in failed_section
    transferred = html_text[html_text.index(">Transferred (2)<") : html_text.index(">Skipped (1)<")]
    assert "border-left" not in transferred
    assert ">How to fix<" not in transferred  # empty columns are left out
    assert "QBO 1038 (id 145)" in transferred
    assert 'font-weight:bold;">10.02</span>' in transferred  # a total that differs stands out


def test_inv21_html_of_a_dry_run_has_the_banner():
    assert DRY_RUN_BANNER in invoice_report(dry_run=True).to_html()
    assert DRY_RUN_BANNER not in invoice_report().to_html()
    empty = RunReport("atqbo invoices", "d", "r").to_html()
    parse_html(empty)
    assert "No records were looked at in this run." in empty
