"""Reconciliation (BEY-04): every document atqbo sent, compared between Autotask and QuickBooks Online.

Used by the ``atqbo_reconcile`` DAG. Read-only: nothing is written to Autotask or QBO; the only
writes are the run's own staging rows and run history in the state database.

Which documents are checked ("sent in the window", the last ``window_days`` days):

* invoices: the ledger's SYNCED ``invoice`` records (recorded in the window, or whose invoice is
  dated in it), QBO invoices dated in the window carrying atqbo's PrivateNote
  ``"Autotask invoice {id}"``, and Autotask invoices dated in the window that carry the synced
  marker (``invoice_marker_field``), so an invoice Autotask calls synced but QBO lacks is found too;
* bills: the ledger's SYNCED ``purchase_order`` records recorded in the window and QBO bills
  created in the window carrying ``"Autotask PO {id}"``.

What is compared, per document (the pure part: ``compare.compare_document``):

* missing on either side: the QBO document deleted, the Autotask record gone, or an Autotask
  invoice marked synced with no QBO invoice of atqbo's at all;
* several live QBO documents carrying the same PrivateNote;
* total drift beyond ``rounding_tolerance``, in cents (``atqbo.money``), totals with tax, as
  ``compare_totals`` does after a create (TAX-04): an invoice's drift names both taxes and who
  computed QBO's;
* void state: voided in one system and not the other (a PO is "voided" when Canceled);
* paid state (invoices): QBO balance 0 while Autotask has no paid date, and an Autotask paid date
  while QBO still shows a balance. Autotask POs have no paid state, so bills are not compared on it.

Reads are in bulk, never one per document: Autotask ``in`` queries of 500 ids, QBO ``query_all``
over the window's dates and ``Id IN (...)`` queries of 100. Only a QBO document the ledger
recorded and no query returned is read on its own, to confirm it was deleted (QBO's 610).

The modules, from the bottom up:

* ``model``: the two sides of one document, the pair, the rules and a drift (pure data);
* ``sides``: each side built from the APIs' records, and which QBO document stands for a record;
* ``drifts``: each way a document can differ, in words, with both values and the fix;
* ``compare``: one document's check (every drift, in order) and its report row and CSV line;
* ``read``: both sides of every document in the window, read in bulk (the only I/O);
* ``report``: the run's report and its CSV of every document checked;
* ``tasks``: the DAG's tasks (read and stage, then compare and report).
"""
