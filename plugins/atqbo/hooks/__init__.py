"""Airflow hooks for the two services atqbo talks to: Autotask PSA and QuickBooks Online.

Import from ``atqbo.hooks.autotask`` and ``atqbo.hooks.qbo``: each is a service's public face and
lists its names in ``__all__`` (the hook, its typed errors, its limits, its query helpers). The
other modules are their parts, one concept each, each below everything that uses it:

* both: ``retry`` (the one retry policy, on tenacity); ``metrics`` (atqbo's Airflow metrics: API
  calls, the Autotask budget, and the syncs' record counts, BEY-10).
* Autotask: ``autotask_client`` (the one HTTP path) under ``autotask`` (the vocabulary);
  ``autotask_limits``, ``_filters``, ``_errors``, ``_connection``, ``_zones``, ``_pacing``,
  ``_picklists``.
* QBO: ``qbo_client`` (the one HTTP path) under ``qbo`` (the vocabulary); ``qbo_limits``,
  ``_faults``, ``_fault_parsing``, ``_query``, ``_batch``, ``_requestids``, ``_connection``,
  ``_pacing``, ``_tokens`` (OAuth token rotation through the ledger).
"""
