"""The invoice sync: Autotask invoices -> QuickBooks Online, exactly once (BEY-01).

Each step is one task of ``atqbo_invoices`` (``tasks``) and reads/writes this run's staged data in
the ledger (XCom carries only the run key and counts):

1. ``extract.extract_invoices``: unsynced Autotask invoices of the window and everything they
   reference, in bulk (``in`` queries of 500, never one read per invoice).
2. ``plan.plan_invoice_run``: the pure transform (``atqbo.transform.invoices.plan_invoices``).
3. ``load.load_invoices``: first what QBO already has is adopted (``adopt``: atqbo's own
   invoices in the window, recognised by their PrivateNote, and the ledger's records); then
   customers, items, terms and classes are found or created (``references``); then the invoices
   are created with QBO batch requests of up to 30 (``create``), each with a ``requestid``
   derived from the Autotask id, written to the ledger *before* the request. A retry, a crash or
   a re-run therefore adopts what exists instead of creating it again.
   While the batches go out, the markers of the invoices QBO has (adopted, then each batch's
   once the ledger records them) are written to Autotask by a background writer, three at a time
   (``marker_writer``, BEY-05); the load ends when the last is written.
4. ``write_back.write_back_markers``: the Autotask marker (``webServiceDate`` or
   ``invoiceNumber``), QBO's number when QBO numbers (INV-04), ``ERROR`` for failures in
   invoiceNumber mode (INV-20): whatever the load has not written (staged as "written"), so a
   retried task or a run whose load died is whole on its own.
5. ``report.report_invoice_run``: the summary (INV-21); it gives back the invoice sync lock.

The first task of a run stages its ``scope.InvoiceScope`` (``begin_invoice_run``): the scheduled
sync's is the default (the window's unsynced invoices); the invoice tools run these same steps
with another one: a dry run with a numbering option (``atqbo_preview_invoices``), alternate report
recipients (``atqbo_sync_now``), or one invoice by id with Overwrite (``atqbo_copy_invoice``).
Every run that can write holds the ledger's invoice sync lock from its first task to its report,
so two of them never create invoices at the same time.

A failed record never fails the run: it becomes a ``failed`` row (``outcomes``), an error-log
entry and (in invoiceNumber mode) an ERROR marker. Only what stops the whole run (settings,
authentication, an unreachable API) raises.
"""
