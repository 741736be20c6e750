"""Errors of atqbo itself (the hooks define the typed errors of each service next to the hook)."""


class AtqboError(Exception):
    """Base of every error atqbo raises on purpose."""


class AtqboConfigError(AtqboError):
    """A setting or connection is missing or wrong; the message says which and how to fix it."""


def missing_connection_error(conn_id: str, what: str, setting: str, exc: Exception) -> AtqboError:
    """``exc`` (what Airflow raised reading connection ``conn_id``) as the error atqbo gives for it:
    a missing connection is an ``AtqboConfigError`` naming it, what it is for and the fix (never
    retried: ``atqbo.dags.NOT_RETRYABLE``); anything else (a secrets backend down) stays retryable."""
    if type(exc).__name__ != "AirflowNotFoundException":
        return AtqboError(f"Airflow connection {conn_id!r} could not be read: {type(exc).__name__}: {exc}")
    return AtqboConfigError(
        f"Airflow connection {conn_id!r} ({what}) does not exist. Fix: create it in Admin > Connections "
        f"(the atqbo README, 'Connections', lists its fields), or set {setting} in the atqbo_settings Variable "
        "to the id of the connection you made"
    )
