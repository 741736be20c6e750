"""Recovering from a dead QBO refresh token (ERR-04): the ``atqbo_check_connections`` form's option
to adopt the refresh token pasted into the connection, and the plain-words explanation of a token
QBO refused (``invalid_grant``). Imported when the DAG file is parsed, so it imports nothing heavy.

Why a person needs the option: atqbo adopts a token pasted into the connection by itself when it is
a token it has not seen (the connection's token differs from the one it adopted). A token it
adopted before is not tried again, as it would normally be long superseded; but a sandbox restarted
while the state database kept its rotated token hands out its first token again, and a state
database restored from an older backup holds a superseded token while the connection may still hold
a live one. The option tries the connection's token whatever atqbo knows of it, and replaces the
stored one only when Intuit accepts it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from atqbo import forms

ADOPT = "adopt_qbo_refresh_token"
FIELDS = (
    forms.flag(
        ADOPT,
        "After reconnecting QuickBooks Online: use the refresh token now in the QBO connection (extra "
        '"refresh_token") instead of the one atqbo stored, even if atqbo used that token before. It is tried '
        "first; only a token QBO accepts replaces the stored one. Off: the usual check, which also explains a "
        "refused token and what to do.",
        title="Adopt the QBO refresh token in the connection",
    ),
)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


def explain_refused_token(facts: dict[str, Any], conn_id: str, realm_id: str, sandbox: bool = False) -> str:
    """What a refused (``invalid_grant``) QBO refresh token means and how to get out, in plain words.

    ``facts`` is ``TokenManager.stored_token_facts()``; ``sandbox``: the connection points at a local
    sandbox (its control endpoint then gives the live token). Never holds a token.
    """
    if facts.get("stored"):
        renewed = _when(facts.get("stored_at"))
        refused = f"the refresh token atqbo stored for it in the state database (last renewed {renewed})"
    else:
        refused = f"the refresh token in the Airflow connection {conn_id!r}"
    if not facts.get("connection_has_token"):
        connection = f"The connection {conn_id!r} holds no refresh token."
    elif facts.get("connection_token_adopted_before"):
        connection = (
            f"The connection {conn_id!r} still holds the token atqbo adopted earlier, so atqbo does not try it again "
            f"by itself: pasting a new token there is adopted on the next run; to use that same token again (it "
            f"can be live again, for example after a sandbox restart), use the option below."
        )
    else:
        connection = f"The token in the connection {conn_id!r} was tried as well and refused."
    where = (
        "With the sandbox: its current token is in the output of `python -m sandbox` and at "
        "GET <sandbox>/_sandbox/connections (extra refresh_token)."
        if sandbox
        else "From Intuit: run your app's Connect to QuickBooks flow again, or the OAuth 2.0 Playground on "
        f"developer.intuit.com for this app (the connection's client id) and company {realm_id}."
    )
    return (
        f"QuickBooks Online refused {refused} for company (realm) {realm_id}: invalid_grant. Intuit no longer "
        f"accepts that token, so atqbo cannot reach the books until someone gives it a new one; retrying "
        f"changes nothing. Usual causes: the app was disconnected from the QBO company (by a user, or by Intuit), "
        f"the token went unused for about 100 days, or an older token than the current one was used after its day "
        f"of grace: the state database was restored from a backup or copied from another installation, or the "
        f"sandbox was restarted while the state database kept the token of its previous run. {connection} "
        f"To recover: 1. get a new refresh token. {where} 2. Paste it into Admin > Connections > {conn_id}, "
        f'extra field "refresh_token". 3. Trigger atqbo_check_connections with "Adopt the QBO refresh token in the '
        f'connection" on (conf {{"{ADOPT}": true}}): it tries that token and, if QBO accepts it, replaces the '
        f"stored one; the syncs then run as usual. No table needs editing."
    )
