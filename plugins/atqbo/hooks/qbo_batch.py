"""QBO's batch protocol: BatchItemRequest entries, ``MAX_BATCH_ITEMS`` per call, one result per item.

Every entry has a ``bId`` (its position when the caller gave none) by which QBO's answer is matched
back. A batch longer than one call is sent in chunks, each under a requestid derived from the
batch's (so a re-run with the same requestid replays every chunk). A faulted item comes back as its
typed fault, returned rather than raised, so that each item can be handled on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from atqbo.hooks.qbo_fault_parsing import build_fault, fault_from_payload
from atqbo.hooks.qbo_faults import QboFault, describe_operation
from atqbo.hooks.qbo_limits import MAX_BATCH_ITEMS
from atqbo.hooks.qbo_requestids import derive_requestid

BatchResult = dict[str, Any] | QboFault


def prepare_batch(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The entries to send, each with a ``bId`` (its position when it had none); bIds must be distinct."""
    prepared: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        entry = dict(item)
        entry.setdefault("bId", str(position))
        prepared.append(entry)
    if len({e["bId"] for e in prepared}) != len(prepared):
        raise ValueError("batch items need distinct bId values")
    return prepared


def batch_chunks(prepared: list[dict[str, Any]], requestid: str) -> list[tuple[list[dict[str, Any]], str]]:
    """The calls to make: chunks of ``MAX_BATCH_ITEMS`` entries, each with its requestid."""
    chunks = [prepared[i : i + MAX_BATCH_ITEMS] for i in range(0, len(prepared), MAX_BATCH_ITEMS)]
    if len(chunks) == 1:
        return [(chunks[0], requestid)]
    return [(chunk, derive_requestid(requestid, f"batch-{number}")) for number, chunk in enumerate(chunks)]


def batch_results(
    chunk: list[dict[str, Any]], payload: Mapping[str, Any], requestid: str, secrets: Iterable[str | None]
) -> dict[str, BatchResult]:
    """Each entry's result in QBO's answer ``payload`` to ``chunk``, by bId: its response or its fault."""
    secrets = list(secrets)
    answered = {str(r.get("bId")): r for r in payload.get("BatchItemResponse") or []}
    return {entry["bId"]: _item_result(entry, answered.get(entry["bId"]), requestid, secrets) for entry in chunk}


def _item_result(
    entry: Mapping[str, Any], response: Mapping[str, Any] | None, requestid: str, secrets: list[str | None]
) -> BatchResult:
    if response is not None and not response.get("Fault"):
        return dict(response)
    entity = next((k for k in entry if k[:1].isupper() and isinstance(entry[k], dict)), None)
    if entity is not None:
        what = describe_operation(str(entry.get("operation") or "write"), entity, entry[entity])
    else:
        what = f"query {str(entry.get('Query') or entry.get('CDCQuery') or '')[:80]}"
    operation = f"batch item {entry['bId']}: {what}"
    if response is None:
        return QboFault("QBO's batch answer has no result for this item", requestid=requestid, operation=operation)
    return build_fault(
        fault_from_payload(response["Fault"]), status=None, requestid=requestid, operation=operation, secrets=secrets
    )
