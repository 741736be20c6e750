"""Errors of atqbo itself (the hooks define the typed errors of each service next to the hook)."""


class AtqboError(Exception):
    """Base of every error atqbo raises on purpose."""


class AtqboConfigError(AtqboError):
    """A setting or connection is missing or wrong; the message says which and how to fix it."""
