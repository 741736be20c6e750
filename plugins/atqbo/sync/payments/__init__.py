"""The payment sync (PAY-01, PAY-02): QBO payments mark the Autotask invoices atqbo sent as paid.

Used by the ``atqbo_payments`` DAG, one function per task (``tasks``):

1. ``find_payment_changes``: the QBO payments changed since the last successful run, read with
   change data capture (CDC) and grouped by the invoice each payment line is applied to
   (``changes``). CDC reaches back 30 days; the first run reads ``payment_lookback_days``; a run
   that finds the last success further back than QBO's reach reads what it can and says what it
   could not (``window``).
2. ``apply_payments``: reads those QBO invoices (``Id IN (...)``), keeps the ones atqbo created
   (the ledger's ``invoice`` record, else the PrivateNote ``"Autotask invoice {id}"``), reads
   their Autotask invoices in bulk, and for each one decides (``paid_state``):

   * QBO balance 0: the Autotask invoice's ``paidDate`` becomes the date of the payment that
     settled it (the latest payment applied to it), unless it already is that date. A payment
     spread over several invoices marks each one it settles (PAY-02).
   * QBO balance above 0: reported ("partially paid: balance X of Y"), never marked.
   * A payment deleted or voided in QBO: reported for a person to check. atqbo never clears a
     paid date by itself: the money may have been recorded again another way, and an Autotask
     paid date is often typed in by hand.

   The paid dates are written three at a time (``paid_date``, which the mark-paid tool uses too),
   and each outcome is recorded in the ledger (``apply``).
3. ``report_payments``: the ``RunReport`` by email and in the task log (``report``).
4. ``advance_payment_watermark``: only after all of the above succeeded, the run's CDC time
   becomes the next run's starting point.

Idempotency. The ledger's ``payment`` record of each Autotask invoice remembers the last state
atqbo saw and acted on (``payload_hash``: ``paid 2026-02-25``, ``open 150.00``, ...; ``qbo_id``:
the QBO invoice; ``qbo_number``: the Ids of the QBO payments applied to it then, comma-separated,
which is how a deleted payment, of which CDC returns only the Id, is traced to its invoices). A
state already recorded is neither written again nor reported again, so CDC's overlap between runs
and a re-run of the same window are silent; a paid date already right is never written.
``dry_run`` reads the same and writes nothing (no Autotask update, no ledger change, no watermark).

Modules: ``model`` (what the tasks pass each other), ``window`` (where CDC is read from, the
watermark), ``changes`` (the changed payments, by invoice), ``paid_state`` (the decision for one
invoice), ``paid_date`` (the write), ``apply`` (task 2), ``report``, ``tasks``.
"""

from __future__ import annotations
