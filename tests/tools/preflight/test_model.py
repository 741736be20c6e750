"""The preflight's checks (BEY-08): verdicts, their order, and that a problem always carries its fix."""

import pytest

from atqbo.tools.preflight.model import Check, blocking, counts, from_docs, listed, ok, to_docs, warning, worst


def test_bey08_a_check_that_is_not_ok_must_say_how_to_fix_it():
    with pytest.raises(ValueError, match="needs a fix"):
        Check("qbo", "A/P account", "blocking", "QBO has no account named 'A/P'")
    with pytest.raises(ValueError, match="needs a fix"):
        Check("qbo", "A/P account", "warning", "found", "  ")
    assert Check("qbo", "A/P account", "ok", "found").fix == ""


def test_bey08_unknown_parts_and_verdicts_are_refused():
    with pytest.raises(ValueError, match="unknown preflight part 'quickbooks'"):
        ok("quickbooks", "x", "y")
    with pytest.raises(ValueError, match="unknown verdict 'fine'"):
        Check("qbo", "x", "fine", "y")


def test_bey08_the_worst_verdict_and_the_counts_put_blocking_first():
    checks = [ok("qbo", "a", "f"), warning("data", "b", "f", "do x"), ok("autotask", "c", "f")]
    assert worst(checks) == "warning"
    assert worst([*checks, blocking("settings", "d", "f", "do y")]) == "blocking"
    assert worst([]) == "ok"
    assert counts(checks) == {"blocking": 0, "warning": 1, "ok": 2}
    assert list(counts([])) == ["blocking", "warning", "ok"]


def test_bey08_checks_travel_as_plain_documents():
    checks = [blocking("qbo", "Terms", "QBO has no term 'Net 45'", "add it in QBO", detail="INV-1, INV-2")]
    assert from_docs(to_docs(checks)) == checks


def test_bey08_long_lists_are_cut_with_a_count():
    assert listed(["a", "b"]) == "a, b"
    assert listed(range(13), limit=3) == "0, 1, 2 and 10 more"
