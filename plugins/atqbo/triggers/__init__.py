"""Airflow triggers of atqbo: what the triggerer runs for event-driven scheduling.

``new_invoices.NewInvoicesTrigger`` is the watcher of ``atqbo_invoices``' asset (BEY-09): it asks
Autotask, once every poll, whether invoices were posted since it last looked, and fires an asset
event when one of them is still unsynced. The triggerer imports it by its dotted path, so it is in
the installed package, not a plugin file.
"""
