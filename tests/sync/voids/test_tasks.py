"""The void sync's tasks (atqbo.sync.voids.tasks) against the sandbox over HTTP: what is voided, what
is only reported, and that a second run neither writes nor reports again (VOID-01, VOID-02, BEY-01/03)."""

from __future__ import annotations

from tests.sync.voids import support as vs
from tests.sync.voids.support import make_run, run_voids

AT_LEDGER, AT_NOTE, AT_OTHER, AT_NOT_VOIDED = 29684101, 29684102, 29684103, 29684104


def rows_by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["autotask_id"]: r for r in rows}


def seed_mixed_books(sandbox, ledger) -> None:
    """Four Autotask invoices: voided and known to the ledger (QBO 501), voided and found by its
    PrivateNote (502), voided but never sent by atqbo (QBO holds a look-alike note for a longer id
    and a hand-made invoice), and one not voided whose QBO copy must stay."""
    vs.seed_books(
        sandbox,
        [
            vs.autotask_invoice(AT_LEDGER, "INV-2001"),
            vs.autotask_invoice(AT_NOTE, "INV-2002"),
            vs.autotask_invoice(AT_OTHER, "INV-2003"),
            vs.autotask_invoice(AT_NOT_VOIDED, "INV-2004", voided_at=None),
        ],
        [
            vs.qbo_invoice("501", "1047", None),  # the ledger knows it; its note was edited away
            vs.qbo_invoice("502", "1048", f"Autotask invoice {AT_NOTE} (INV-2002)"),
            vs.qbo_invoice("503", "1049", f"Autotask invoice {AT_OTHER}9 (INV-9999)"),  # another id's note
            vs.qbo_invoice("504", "1050", "typed in by the bookkeeper"),
            vs.qbo_invoice("505", "1051", f"Autotask invoice {AT_NOT_VOIDED} (INV-2004)"),
        ],
    )
    ledger.set_sync_status("invoice", AT_LEDGER, "SYNCED", qbo_id="501", qbo_number="1047")


# -- against the sandbox --------------------------------------------------------------------------


def test_void01_voids_only_the_invoices_atqbo_created(sandbox, ledger):
    seed_mixed_books(sandbox, ledger)

    rows = rows_by_id(run_voids(make_run("scheduled__1")))

    books = vs.qbo_invoices_by_id(sandbox)
    assert vs.is_voided(books["501"]) and vs.is_voided(books["502"])
    assert books["502"]["PrivateNote"] == f"Voided - Autotask invoice {AT_NOTE} (INV-2002)"
    for untouched in ("503", "504", "505"):
        assert books[untouched]["TotalAmt"] == 250 and not vs.is_voided(books[untouched]), untouched
    assert set(rows) == {AT_LEDGER, AT_NOTE, AT_OTHER}  # the invoice not voided in Autotask is not looked at
    assert rows[AT_LEDGER]["outcome"] == "voided" and rows[AT_LEDGER]["qbo_number"] == "1047"
    assert rows[AT_LEDGER]["reason"] == "voided QBO invoice 1047"
    assert rows[AT_NOTE]["outcome"] == "voided" and rows[AT_NOTE]["qbo_id"] == "502"
    assert rows[AT_NOTE]["company"] == vs.COMPANY_NAME and rows[AT_NOTE]["reference"] == "INV-2002"
    assert rows[AT_OTHER]["outcome"] == "skipped"
    assert rows[AT_OTHER]["reason"].startswith("not created by atqbo")
    assert ledger.get_sync_record("invoice_void", AT_LEDGER)["status"] == "SYNCED"
    assert ledger.get_sync_record("invoice_void", AT_NOTE)["qbo_id"] == "502"
    assert ledger.get_sync_record("invoice_void", AT_OTHER)["status"] == "SKIPPED"

    # Bulk reads only: one Autotask invoice query, one QBO date query and one Id IN query.
    autotask_calls = [r for r in sandbox.requests.list("autotask") if "/invoices/" in r["path"].lower()]
    assert [(r["method"], r["path"].lower().rsplit("/", 2)[-2:]) for r in autotask_calls] == [
        ("POST", ["invoices", "query"])
    ]
    queries = [r for r in sandbox.requests.list("qbo") if r["path"].endswith("/query")]
    assert len(queries) == 2, [r["query"] for r in queries]
    voids_sent = vs.void_requests(sandbox)
    assert sorted(r["requestid"] for r in voids_sent) == [f"atqbo-void-{AT_LEDGER}", f"atqbo-void-{AT_NOTE}"]


def test_void02_second_run_writes_nothing_and_reports_nothing(sandbox, ledger):
    seed_mixed_books(sandbox, ledger)
    run_voids(make_run("scheduled__1"))
    before = vs.qbo_invoices_by_id(sandbox)
    sandbox.requests.clear()

    rows = run_voids(make_run("scheduled__2"))

    assert rows == []
    assert vs.writes(sandbox) == []
    assert vs.qbo_invoices_by_id(sandbox) == before
    # Nothing to settle: QBO is not even asked.
    assert sandbox.requests.list("qbo") == []


def test_void02_already_voided_or_deleted_in_qbo_is_reported_once(sandbox, ledger, qbo):
    at_voided, at_deleted = 29684201, 29684202
    vs.seed_books(
        sandbox,
        [vs.autotask_invoice(at_voided, "INV-3001"), vs.autotask_invoice(at_deleted, "INV-3002")],
        [
            vs.voided_qbo_invoice("601", "1060", f"Autotask invoice {at_voided} (INV-3001)"),
            vs.qbo_invoice("602", "1061", f"Autotask invoice {at_deleted} (INV-3002)"),
        ],
    )
    ledger.set_sync_status("invoice", at_deleted, "SYNCED", qbo_id="602", qbo_number="1061")
    qbo.delete("Invoice", "602")
    sandbox.requests.clear()

    rows = rows_by_id(run_voids(make_run("scheduled__1")))

    assert rows[at_voided]["outcome"] == "skipped"
    assert rows[at_voided]["reason"].startswith("already voided in QBO")
    assert rows[at_voided]["qbo_id"] == "601"
    assert rows[at_deleted]["outcome"] == "skipped"
    assert rows[at_deleted]["reason"].startswith("deleted in QBO")
    assert vs.void_requests(sandbox) == []  # never a second void
    assert ledger.get_sync_record("invoice_void", at_voided)["status"] == "SKIPPED"
    assert ledger.get_sync_record("invoice_void", at_deleted)["status"] == "SKIPPED"

    sandbox.requests.clear()
    assert run_voids(make_run("scheduled__2")) == []
    assert vs.writes(sandbox) == []


def test_void02_refusal_is_reported_once_the_run_goes_on_and_the_void_follows_the_fix(sandbox, ledger, qbo):
    at_paid, at_free = 29684301, 29684302
    vs.seed_books(
        sandbox,
        [vs.autotask_invoice(at_paid, "INV-4001"), vs.autotask_invoice(at_free, "INV-4002")],
        [
            vs.qbo_invoice("701", "1070", f"Autotask invoice {at_paid} (INV-4001)"),
            vs.qbo_invoice("702", "1071", f"Autotask invoice {at_free} (INV-4002)"),
        ],
        [vs.payment("701", 100.0, payment_id="950")],
    )

    # Run 1: QBO refuses the paid invoice; the other one is voided anyway.
    rows = rows_by_id(run_voids(make_run("scheduled__1")))
    assert rows[at_free]["outcome"] == "voided"
    failed = rows[at_paid]
    assert failed["outcome"] == "failed"
    assert "1070" in failed["reason"] and "INV-4001" in failed["reason"] and "6000" in failed["reason"]
    assert failed["fix"].startswith("remove the payment in QBO")
    books = vs.qbo_invoices_by_id(sandbox)
    assert vs.is_voided(books["702"]) and not vs.is_voided(books["701"])
    errors = ledger.list_errors(entity="invoice_void")
    assert [(e["autotask_id"], e["qbo_id"], e["attempts"]) for e in errors] == [(at_paid, "701", 1)]
    assert errors[0]["fix"] == failed["fix"]
    assert ledger.get_sync_record("invoice_void", at_paid)["status"] == "ERROR"

    # Run 2: nothing changed in QBO: no second attempt, no second report.
    sandbox.requests.clear()
    assert run_voids(make_run("scheduled__2")) == []
    assert vs.void_requests(sandbox) == []
    assert ledger.list_errors(entity="invoice_void")[0]["attempts"] == 1

    # The bookkeeper removes the payment (the invoice changes): run 3 voids it and closes the error.
    qbo.delete("Payment", "950")
    rows = rows_by_id(run_voids(make_run("scheduled__3")))
    assert rows == {at_paid: rows[at_paid]} and rows[at_paid]["outcome"] == "voided"
    assert vs.is_voided(vs.qbo_invoices_by_id(sandbox)["701"])
    assert [r["requestid"] for r in vs.void_requests(sandbox)] == [f"atqbo-void-{at_paid}-2"]
    assert ledger.list_errors(entity="invoice_void") == []
    assert ledger.get_sync_record("invoice_void", at_paid)["status"] == "SYNCED"


def test_void02_a_retry_asked_for_in_the_error_log_tries_again(sandbox, ledger):
    at_paid = 29684401
    vs.seed_books(
        sandbox,
        [vs.autotask_invoice(at_paid, "INV-5001")],
        [vs.qbo_invoice("801", "1080", f"Autotask invoice {at_paid}")],
        [vs.payment("801", 50.0)],
    )
    assert run_voids(make_run("scheduled__1"))[0]["outcome"] == "failed"
    error = ledger.list_errors(entity="invoice_void")[0]
    assert ledger.request_retry(error["id"])
    sandbox.requests.clear()

    rows = run_voids(make_run("scheduled__2"))

    assert [r["outcome"] for r in rows] == ["failed"]  # still paid: refused again, and said so
    assert len(vs.void_requests(sandbox)) == 1
    assert ledger.list_errors(entity="invoice_void")[0]["attempts"] == 2
    sandbox.requests.clear()
    assert run_voids(make_run("scheduled__3")) == []  # the retry was used up
    assert vs.void_requests(sandbox) == []


def test_void01_a_void_older_than_the_lookback_is_ignored(sandbox, ledger):
    at_recent, at_old = 29684501, 29684502
    vs.seed_books(
        sandbox,
        [
            vs.autotask_invoice(at_recent, "INV-6001"),
            vs.autotask_invoice(at_old, "INV-6002", voided_at=vs.OLD_VOIDED_AT, day=vs.OLD_INVOICE_DAY),
        ],
        [
            vs.qbo_invoice("901", "1090", f"Autotask invoice {at_recent}"),
            vs.qbo_invoice("902", "1091", f"Autotask invoice {at_old}", day=vs.OLD_INVOICE_DAY),
        ],
    )

    rows = rows_by_id(run_voids(make_run("scheduled__1", lookback_days=14)))
    assert set(rows) == {at_recent}
    assert not vs.is_voided(vs.qbo_invoices_by_id(sandbox)["902"])

    rows = rows_by_id(run_voids(make_run("backfill__1", lookback_days=30)))  # a wider look-back reaches it
    assert set(rows) == {at_old} and rows[at_old]["outcome"] == "voided"
    assert vs.is_voided(vs.qbo_invoices_by_id(sandbox)["902"])


def _ledger_snapshot(ledger) -> tuple:
    return ledger.list_sync_records(), ledger.list_errors(include_resolved=True)


def test_bey03_dry_run_plans_everything_and_writes_nothing(sandbox, ledger):
    seed_mixed_books(sandbox, ledger)
    before_books = vs.qbo_invoices_by_id(sandbox)
    before_ledger = _ledger_snapshot(ledger)

    rows = rows_by_id(run_voids(make_run("manual__dry", dry_run=True)))

    assert rows[AT_LEDGER]["outcome"] == "planned"
    assert rows[AT_LEDGER]["reason"] == "would void QBO invoice 1047"
    assert rows[AT_NOTE]["reason"] == "would void QBO invoice 1048"
    assert rows[AT_OTHER]["outcome"] == "skipped" and rows[AT_OTHER]["reason"].startswith("not created by atqbo")
    assert vs.writes(sandbox) == []
    assert vs.qbo_invoices_by_id(sandbox) == before_books
    assert _ledger_snapshot(ledger) == before_ledger

    # The dry run settled nothing: the real run afterwards does the work.
    rows = rows_by_id(run_voids(make_run("scheduled__1")))
    assert rows[AT_LEDGER]["outcome"] == "voided" and rows[AT_NOTE]["outcome"] == "voided"


def test_bey03_dry_run_warns_that_a_paid_invoice_will_be_refused(sandbox, ledger):
    at_paid = 29684601
    vs.seed_books(
        sandbox,
        [vs.autotask_invoice(at_paid, "INV-7001")],
        [vs.qbo_invoice("1101", "1110", f"Autotask invoice {at_paid}")],
        [vs.payment("1101", 25.0)],
    )
    (row,) = run_voids(make_run("manual__dry", dry_run=True))
    assert row["outcome"] == "planned"
    assert row["reason"].startswith("would void QBO invoice 1110 (QBO will refuse while payments are applied")


def test_bey01_a_void_interrupted_before_it_was_recorded_is_not_sent_again(sandbox, ledger, qbo):
    """The previous run wrote its intent, QBO voided the invoice, and the run died before recording it."""
    at_id = 29684701
    vs.seed_books(
        sandbox, [vs.autotask_invoice(at_id, "INV-8001")], [vs.qbo_invoice("1201", "1120", f"Autotask invoice {at_id}")]
    )
    ledger.record_intent(
        "invoice_void",
        at_id,
        payload_hash="Invoice 1201 SyncToken 0",
        request_id=f"atqbo-void-{at_id}",
        run_id="scheduled__0",
    )
    qbo.void_invoice("1201", "0", requestid=f"atqbo-void-{at_id}")
    sandbox.requests.clear()

    (row,) = run_voids(make_run("scheduled__1"))

    assert row["outcome"] == "voided"
    assert vs.void_requests(sandbox) == []
    assert ledger.get_sync_record("invoice_void", at_id)["status"] == "SYNCED"


def test_void02_several_atqbo_copies_are_not_guessed_between(sandbox, ledger):
    at_id = 29684801
    vs.seed_books(
        sandbox,
        [vs.autotask_invoice(at_id, "INV-9001")],
        [
            vs.qbo_invoice("1301", "1130", f"Autotask invoice {at_id}"),
            vs.qbo_invoice("1302", "1131", f"Autotask invoice {at_id} (copy)"),
        ],
    )
    (row,) = run_voids(make_run("scheduled__1"))
    assert row["outcome"] == "failed" and "1301, 1302" in row["reason"]
    assert vs.void_requests(sandbox) == []
    assert run_voids(make_run("scheduled__2")) == []  # reported once; the open error-log entry stands
    assert len(ledger.list_errors(entity="invoice_void")) == 1
