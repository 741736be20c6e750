"""The void sync (VOID-01, VOID-02): invoices voided in Autotask are voided in QuickBooks Online.

Used by the ``atqbo_invoice_voids`` DAG, one function per task (``tasks``):

1. ``find_void_targets``: the Autotask invoices voided inside the run's window (the data interval
   widened by ``void_lookback_days``), in one bulk query; those the ledger has already settled are
   dropped; each remaining one is resolved to the QBO invoice atqbo created for it
   (``find.resolve_qbo_invoices``): the ledger's ``invoice`` record, else a QBO invoice whose
   PrivateNote starts ``"Autotask invoice {id}"``, found with one paged query per cluster of
   invoice dates, never one query per invoice.
2. ``apply_voids``: reads the current state of those QBO invoices (one ``Id IN (...)`` query per
   100), then voids each one, or records why not: not created by atqbo, already voided, deleted,
   refused by QBO (``apply``). With ``dry_run`` it reads the same and writes nothing.
3. ``report_voids``: the ``RunReport`` by email and in the task log (``report``).

Idempotency (VOID-02, BEY-01). The ledger's ``invoice_void`` record says what happened to each
Autotask invoice, and what it says is reported once:

* ``SYNCED``: atqbo voided the QBO invoice. Nothing more to do, never reported again.
* ``SKIPPED``: nothing to void (not created by atqbo, already voided or deleted in QBO); reported
  the run it was found, then silent.
* ``IN_PROGRESS``: written just before the void request (with its ``requestid``). A run that finds
  one (the previous one crashed mid-void) reads the QBO invoice: voided means the void went
  through (``SYNCED``), otherwise it is voided now.
* ``ERROR``: QBO refused the void (say payments are applied: 6000). The record keeps the QBO
  invoice's SyncToken at the refusal. Later runs read the invoice and try again only when it has
  changed since (removing a payment changes the invoice's SyncToken) or when a retry was asked for
  in the error log after the refusal (TOOL-08); otherwise they stay silent, so the same refusal
  is not reported every 15 minutes. The error log keeps the open entry (entity ``invoice_void``)
  until the invoice is voided or found voided/deleted.

The requestid of a void is ``atqbo-void-{autotask id}`` on the first attempt and
``atqbo-void-{autotask id}-{attempt}`` on later ones: QBO answers a repeated requestid with its
first answer, so a retry after a refusal under the same key would only replay the refusal
(``refusals``).

Modules: ``model`` (what the tasks pass each other), ``find`` (task 1's reads), ``refusals``
(requestids and what a refusal means), ``apply`` (task 2's decisions and writes), ``report``
(rows and the run's report), ``tasks`` (the DAG's task bodies).
"""

from __future__ import annotations
