"""The error log and its retry (TOOL-08), shared by ``atqbo_retry_errors`` and the Airflow UI view.

Every failure a sync records is an error-log entry (entity, Autotask id, QBO id, message, fix,
time of the last occurrence, attempts, and the QBO company it went to when the sync knows it:
BEY-07's invoice sync does). The same failure of the same record is counted, not
repeated; an entry is closed (resolved) when its record is transferred. A retry re-queues the
record:

1. the entry gets ``retry_requested_at`` (the syncs retry a record whose unchanged content failed
   before only when asked to; a failed retry uses the request up, so it does not loop);
2. the record's ledger status goes from ERROR back to PENDING, so no sync takes it for "failed
   before, nothing changed" any more; except a ``payment``, which stays ERROR: the payment sync
   tries every ERROR record again at each run, and only those;
3. the ERROR marker a sync wrote in Autotask is cleared, so the next run sees the record as unsynced:
   the invoice number in ``invoiceNumber`` marker mode (INV-20), the External PO Number of a PO (PO-07).
   When the marker cannot be cleared, steps 1 and 2 are not done either: what the tool reports is
   what happened.

The next scheduled run (or ``atqbo_sync_now`` / ``atqbo_sync_po``) then sends the record again.
Nothing here talks to QBO: a retry only changes what the next run does.

The modules: ``entries`` (which entries: the form's filters and the ledger's query; imported when
the DAG file is parsed), ``retry`` (the three steps above; the UI's Retry button uses it too) and
``report`` (the entries as the task log and the report show them).
"""
