"""The purchase order sync: submitted Autotask purchase orders -> QuickBooks Online bills, exactly once.

Each step is one task of ``atqbo_purchase_orders`` (``tasks``); the run's data lives in the
ledger's staging (XCom carries only the run key and counts), as in the invoice sync:

1. ``extract_purchase_orders``: the eligible POs (PO-01: status "Submitted", read from the
   picklist; created inside the window; External PO Number blank), their items, products, vendor
   companies and Autotask's currencies, in bulk. ``atqbo_sync_po`` (TOOL-07) runs the same steps
   over one PO asked for by id instead (see ``classify_requested_po``).
2. ``load_purchase_orders``: one QBO Bill per PO (PO-02), credited to the account named
   ``po_ap_account`` (a bill in a foreign currency: QBO's A/P account of that currency, CUR-03),
   item lines only; no tax for a US company, ``purchase_tax_code`` on every line of a non-US
   company's bill (TAX-03). First every check that needs only reads, then the
   writes: vendors by name, created when missing (PO-03); items by product name, created or
   "error and stop" per ``po_missing_item_action`` (PO-05); the bill number (PO-04); the three
   multi-currency cases (PO-06). Before anything is created the run adopts what QBO already has:
   bills whose PrivateNote starts ``"Autotask PO {id}"`` created since the POs were, and the
   ledger's records. Each bill create is recorded in the ledger (intent + requestid) *before* the
   batch request that carries it (BEY-01).
3. ``write_back_purchase_orders``: External PO Number = the bill's number, ``ERROR`` for a failed
   PO (PO-07); then an Autotask to-do under company 0 for every failure, once per failure (PO-08).
4. ``report_purchase_orders``: the summary by email (HTML + CSV) and in the task log.

A failed PO never fails the run: it becomes a ``failed`` row, an error-log entry, an ERROR
marker and a to-do. Only what stops the whole run raises (settings, authentication, an
unreachable API, an AP account or a purchase tax code that QBO does not have). With ``dry_run``
everything is read and the plan reported; nothing is written to QBO, Autotask or the ledger's
records.

Choices where the vendor app is silent:

* Bill number, ``po_number_source`` "autotask": DocNumber = the Autotask PO id (Autotask POs have
  no other number; the UI's "PO Number" is the id). A bill in QBO with that number that atqbo did
  not create for this PO is an error (QBO itself does not refuse duplicate bill numbers).
  "qbo": QBO does not number bills, so none is sent and the write-back stores the bill's DocNumber
  if QBO gave it one, else its Id (the one number QBO gives every bill).
* Bill date: the day the PO was submitted (UTC), else the day it was created.
* Freight is not an item and there is no account setting for it: it is not sent, and the report
  warns with the amount so it can be added in QBO.
* Multi-currency, both on: the bill is in the vendor's currency and QBO applies its own exchange
  rate for the bill date (Autotask's rate is not sent). A vendor created by atqbo gets the
  Autotask vendor's currency. A foreign bill is credited to QBO's A/P account of its currency
  (the one named after ``po_ap_account`` + " - CAD" when there are several); when QBO has none
  yet, the bill names none and QBO opens its own (CUR-03).
* Non-US company: every line carries ``purchase_tax_code`` and the bill is "TaxExcluded" (the PO's
  amounts are before tax); QBO adds the code's tax. The report compares the PO's total with the
  bill's total before that tax and says the tax (TAX-03).
* Missing items are created as NonInventory, purchase-only (ExpenseAccountRef =
  ``po_new_item_expense_account``, PurchaseCost and PurchaseDesc from the product).
* "error and stop": POs are taken in id order; the first one needing a missing item fails, the
  ones after it are reported "not processed" and left unsynced for the next run.
* Autotask multi-currency on and QBO's off: with several active Autotask currencies nothing is
  sent, the POs stay unsynced (no ERROR), the report has a note and one to-do says it once; with
  a single active currency, only the POs of a vendor in another currency fail (ERROR, to-do).
* A PO QBO refused is sent again (after ERROR is cleared) under a new requestid: QBO answers a
  repeated requestid with its first answer, which would be the refusal.
* Bills are created under the ledger lock ``purchase_order_sync`` (owner "dag_id/run_id"), so a
  manual ``atqbo_sync_po`` and the scheduled run never create a bill for the same PO at once.
* One PO by id (TOOL-07): any creation date; a status other than Submitted is refused with the
  reason; a number in External PO Number is reported with its bill and nothing is created; ERROR
  is sent again (asking for it is asking to retry); an id Autotask does not have stops the run
  before anything is written (``PurchaseOrderNotFound``).

Where each part lives (read them in this order):

* ``model``: a PO and its lines as the sync sees them, made from the staged Autotask records.
* ``extract``: step 1; ``requested``: what ``atqbo_sync_po`` does with a PO asked for by id.
* ``load``: step 2, in order, under the lock. Its checks and creates, one concept a module, all
  over one ``state.LoadState`` (the run, the hooks, each PO's ``outcomes.Outcomes``):
  ``adopt`` (bills QBO already has, BEY-01), ``currency`` (PO-06), ``accounts`` (the A/P account
  of each currency, CUR-03, and the expense account), ``taxes`` (the purchase tax code of a non-US
  company, TAX-03), ``items`` (PO-05), ``vendors`` (PO-03), ``bill_numbers`` (PO-04) and
  ``bills`` (the bill creates, PO-02); ``failures`` words a failure's fix and records the
  failures in the error log.
* ``write_back`` (PO-07) and ``todos`` (PO-08): step 3. ``report``: step 4.
* ``tasks``: the Airflow tasks both DAGs chain after their own ``start``.
"""
