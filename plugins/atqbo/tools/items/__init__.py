"""The item tools: compare Autotask billing codes with QuickBooks Online items (TOOL-01) and copy
the missing ones to QBO (TOOL-02), as the vendor app's "Compare billing codes and items" did.

A billing code matches the QBO item whose Name equals the code's match key, QBO names being
case-insensitive. The key is exactly what the invoice sync looks for
(``atqbo.transform.invoices.item_key_for_billing_code`` under the chosen ``item_match_field``),
and a copied item is exactly what the invoice sync would create (``item_payload``, created with
the sync's own ``atqbo.qbo_names.create_names``). So the comparison answers "which items will my
invoices use, and which will the sync have to create?", and after a copy the sync finds every item.

The modules, from the bottom up:

* ``values``: how the tools read the two systems' values (text, active flags, Ids in order);
* ``form``: the match fields and the trigger form of both tools (imported when the DAGs are parsed);
* ``comparison``: pure; billing codes + QBO items + settings -> an ``ItemComparison`` with one row
  per billing code (matched, matched with field discrepancies, missing in QBO, no match key) and
  one per QBO item no billing code matches; duplicates noted; its CSV;
* ``read``: the active billing codes (one bulk Autotask query) and every QBO item, active or not
  (one query per 1,000), staged in the ledger for the run's later tasks;
* ``comparison_report``: TOOL-01's report, with the comparison as its own CSV attachment;
* ``copy_missing``: TOOL-02, the income account new items go to, and the creates;
* ``copy_report``: TOOL-02's report.

Nothing here updates an existing item: a discrepancy is reported for a person to settle.
"""
