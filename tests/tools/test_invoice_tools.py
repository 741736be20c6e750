"""The invoice tools' own decisions (TOOL-03/04/05) as plain logic: the preview's numbering option,
the copy's refusals and its "was a copy made" line, the scope the tools stage for the sync's
steps, and the invoice sync lock taken by a run's first task."""

from __future__ import annotations

import pytest

from atqbo.forms import FormError
from atqbo.locks import INVOICE_SYNC_LOCK, SyncBusy
from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.invoices.adopt import describe_qbo_invoice, matched_reason
from atqbo.sync.invoices.report import copy_verdict
from atqbo.sync.invoices.scope import InvoiceScope, begin_invoice_run, lock_skip_message, staged_scope
from atqbo.tools.invoices import NUMBERING_CHOICES, check_invoice_to_copy, numbering_override, preview_notes


def _run(dag_id: str = "atqbo_sync_now", run_id: str = "manual__1", **settings) -> RunInfo:
    return RunInfo(
        dag_id,
        run_id,
        f"{dag_id}/{run_id}",
        Settings.from_dict(settings).to_dict(),
        "2026-10-07T00:00:00+00:00",
        "2026-11-21T00:00:00+00:00",
    )


# -- TOOL-03 ----------------------------------------------------------------------------------------


def test_tool03_numbering_choice_settings_keeps_the_setting_and_the_others_override_it():
    settings = Settings.from_dict({"invoice_numbering": "autotask_id"})
    assert numbering_override("settings", settings) is None
    assert [numbering_override(c, settings) for c in NUMBERING_CHOICES[1:]] == ["qbo", "autotask_number", "autotask_id"]


@pytest.mark.parametrize("choice", ["autotask_number", "autotask_id"])
def test_tool03_autotask_numbering_is_refused_in_invoice_number_marker_mode_naming_the_field(choice):
    settings = Settings.from_dict({"invoice_marker_field": "invoiceNumber"})
    assert numbering_override("qbo", settings) == "qbo" and numbering_override("settings", settings) is None
    with pytest.raises(FormError) as err:
        numbering_override(choice, settings)
    assert str(err.value).startswith(f"invoice_numbering: {choice!r} cannot be previewed")
    assert "invoice_marker_field" in str(err.value) and "nothing was done" in str(err.value)


def test_tool03_report_notes_say_the_age_and_where_the_numbering_came_from():
    settings = Settings.from_dict({"invoice_numbering": "autotask_number"})
    assert preview_notes("settings", 14, settings) == (
        "Check for invoices: what the next run would pick up from the last 14 day(s); nothing was written to QBO "
        "or Autotask.",
        "Invoice numbering: autotask_number (Autotask's invoice number; the invoice_numbering setting).",
    )
    chosen = "Invoice numbering: qbo (QBO numbers the invoices; chosen for this check)."
    assert preview_notes("qbo", 30, settings)[1] == chosen


def test_tool03_a_preview_of_an_invoice_in_qbo_says_the_next_run_only_marks_it():
    found = {"Id": "187", "DocNumber": "1042", "PrivateNote": "Autotask invoice 7 - sent by atqbo"}
    assert describe_qbo_invoice(found) == "QBO invoice 1042 (Id 187)"
    assert matched_reason(InvoiceScope(tool="preview"), describe_qbo_invoice(found), dry_run=True, marked=False) == (
        "already in QBO as QBO invoice 1042 (Id 187) (created by an earlier atqbo run); the next run only writes "
        "the Autotask marker"
    )
    assert matched_reason(InvoiceScope(), "QBO invoice 1042 (Id 187)", dry_run=False, marked=False).endswith(
        "; Autotask marker written"
    )


# -- TOOL-04 ----------------------------------------------------------------------------------------


def test_tool04_the_scheduled_run_skip_message_names_the_run_holding_the_lock():
    message = lock_skip_message("atqbo_sync_now/manual__2026-11-21T07:30:00+00:00")
    assert message.startswith("atqbo_sync_now run 'manual__2026-11-21T07:30:00+00:00' holds the invoice sync lock")
    assert "the next scheduled run picks up whatever is left. " in message
    assert message.endswith("or run atqbo_reset (at the latest, the lock expires 6 hours after it was taken)")


def test_tool04_begin_takes_the_lock_and_stages_the_scope(ledger):
    run = _run()
    begin_invoice_run(run, ledger, InvoiceScope(tool="sync_now", title="atqbo sync now", always_email=True))
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == "atqbo_sync_now/manual__1"
    assert staged_scope(run, ledger) == InvoiceScope(tool="sync_now", title="atqbo sync now", always_email=True)


def test_tool04_begin_refuses_while_another_run_holds_the_lock_and_stages_nothing(ledger, monkeypatch):
    from atqbo import locks

    monkeypatch.setattr(locks, "airflow_run_active", lambda dag_id, run_id: True)
    begin_invoice_run(_run("atqbo_invoices", "scheduled__1"), ledger)
    mine = _run()
    with pytest.raises(SyncBusy, match="atqbo_invoices run 'scheduled__1' is in progress"):
        begin_invoice_run(mine, ledger, InvoiceScope(tool="sync_now"))
    assert ledger.stage_get(mine.run_key, "scope") == {}
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == "atqbo_invoices/scheduled__1"


def test_tool03_a_dry_run_takes_no_lock_so_a_preview_runs_beside_a_sync(ledger, monkeypatch):
    from atqbo import locks

    monkeypatch.setattr(locks, "airflow_run_active", lambda dag_id, run_id: True)
    begin_invoice_run(_run("atqbo_invoices", "scheduled__1"), ledger)
    preview = _run("atqbo_preview_invoices", dry_run=True)
    begin_invoice_run(preview, ledger, InvoiceScope(tool="preview"))
    assert staged_scope(preview, ledger).tool == "preview"
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == "atqbo_invoices/scheduled__1"


def test_tool04_a_start_that_fails_after_taking_the_lock_gives_it_back(ledger, monkeypatch):
    run = _run()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    ledger.create_schema()
    monkeypatch.setattr(ledger, "stage_put", broken)
    with pytest.raises(OSError):
        begin_invoice_run(run, ledger, InvoiceScope(tool="sync_now"))
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK) is None


# -- TOOL-05 ----------------------------------------------------------------------------------------


def test_tool05_an_unknown_id_and_a_voided_invoice_are_refused_naming_them():
    with pytest.raises(FormError, match=r"^autotask_invoice_id: Autotask has no invoice with id 12; nothing was"):
        check_invoice_to_copy(12, None)
    with pytest.raises(FormError, match=r"^autotask_invoice_id: Autotask invoice 29684005 \(INV-1005\) is voided"):
        check_invoice_to_copy(29684005, {"id": 29684005, "invoiceNumber": "INV-1005", "isVoided": True})
    check_invoice_to_copy(7, {"id": 7, "isVoided": False, "webServiceDate": "2026-11-01T00:00:00Z"})  # marked: fine


def _row(outcome: str, **extra) -> dict:
    return {
        "outcome": outcome,
        "autotask_id": 7,
        "reference": "INV-7",
        "qbo_id": None,
        "qbo_number": None,
        "reason": "",
        "fix": "",
        **extra,
    }


def test_tool05_the_verdict_says_whether_a_copy_was_made_and_names_the_qbo_invoices():
    assert copy_verdict(7, _row("transferred", qbo_id="190", qbo_number="1043")) == (
        "A copy was made: QBO invoice 1043 (Id 190) was created in QBO for Autotask invoice INV-7 (id 7)."
    )
    assert copy_verdict(
        7, _row("transferred", qbo_id="190", qbo_number="1043", older_qbo_id="12", older_qbo_number="INV-7")
    ) == (
        "A copy was made: QBO invoice 1043 (Id 190) was created in QBO for Autotask invoice INV-7 (id 7). It is a "
        "second copy: QBO invoice INV-7 (Id 12) still exists; void or delete it in QBO if it is not wanted."
    )
    assert copy_verdict(7, _row("matched", qbo_id="12", qbo_number=None)) == (
        "No copy was made: Autotask invoice INV-7 (id 7) is already in QBO as QBO invoice Id 12. Trigger again with "
        "Overwrite to make a second copy."
    )
    assert copy_verdict(7, _row("failed", reason="QBO refused it.", fix="fix the item")) == (
        "No copy was made: QBO refused it. Fix: fix the item."
    )
    assert copy_verdict(7, _row("skipped", reason="dated before earliest_sync_date; not sent")) == (
        "No copy was made: dated before earliest_sync_date; not sent."
    )
    assert copy_verdict(7, None) == "No copy was made: Autotask invoice 7 was not found."


def test_tool05_without_overwrite_an_invoice_in_qbo_is_reported_as_not_copied():
    scope = InvoiceScope(tool="copy", autotask_ids=(7,))
    assert matched_reason(scope, "QBO invoice 1 (Id 2)", dry_run=False, marked=True) == (
        "already in QBO as QBO invoice 1 (Id 2); no copy was made (trigger again with Overwrite for a second copy)"
    )
    unmarked = matched_reason(scope, "QBO invoice 1 (Id 2)", dry_run=False, marked=False)
    assert unmarked.endswith("; Autotask marker written")
    voided = {"Id": "2", "DocNumber": "1", "PrivateNote": "Voided - Autotask invoice 7 - sent by atqbo"}
    assert describe_qbo_invoice(voided) == "QBO invoice 1 (Id 2), voided in QBO"
    assert describe_qbo_invoice({"Id": "2"}) == "QBO invoice Id 2"


def test_tool05_the_scope_survives_the_ledger_round_trip():
    scope = InvoiceScope(
        tool="copy",
        title="atqbo copy invoice 7",
        autotask_ids=(7,),
        overwrite=True,
        notes=("Overwrite on.",),
        always_email=True,
    )
    assert InvoiceScope.from_doc(scope.to_doc()) == scope
    assert InvoiceScope.from_doc(None) == InvoiceScope()  # the scheduled sync stages the default
