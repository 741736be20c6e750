"""Benchmarks of atqbo against the sandbox: seconds and, above all, API calls.

atqbo seals the QBO tokens in its state database with Airflow's Fernet key (BEY-11); a benchmark's
state database lives only for its run, so a run without a configured key gets a fresh one."""

import os

from cryptography.fernet import Fernet

os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
