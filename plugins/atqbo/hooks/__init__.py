"""Airflow hooks for the two services atqbo talks to: Autotask PSA and QuickBooks Online."""
