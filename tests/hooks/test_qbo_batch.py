"""Tests of ``atqbo.hooks.qbo_batch``: bIds, chunks with their requestids, and per-item results.

The batch over HTTP (three requests for 65 items, replays, faults per item) is tested through the
hook in ``test_qbo.py``.
"""

from __future__ import annotations

import pytest

from atqbo.hooks.qbo import QboDuplicateName, QboFault, derive_requestid
from atqbo.hooks.qbo_batch import batch_chunks, batch_results, prepare_batch


def test_entries_without_a_bid_get_their_position():
    prepared = prepare_batch([{"Query": "SELECT * FROM Item"}, {"bId": "x", "Query": "SELECT * FROM Vendor"}])
    assert [e["bId"] for e in prepared] == ["0", "x"]
    with pytest.raises(ValueError, match="distinct bId"):
        prepare_batch([{"bId": "1"}, {"Query": "SELECT * FROM Item"}])  # the second is "1" by position


def test_one_chunk_keeps_the_requestid_and_more_derive_one_each():
    prepared = prepare_batch({"Query": f"SELECT * FROM Item WHERE Id = '{i}'"} for i in range(61))
    assert batch_chunks(prepared[:30], "rid") == [(prepared[:30], "rid")]
    chunks = batch_chunks(prepared, "rid")
    assert [len(c) for c, _ in chunks] == [30, 30, 1]
    assert [r for _, r in chunks] == [derive_requestid("rid", f"batch-{n}") for n in range(3)]


def test_each_item_gets_its_response_or_its_fault():
    chunk = prepare_batch(
        [
            {"operation": "create", "Customer": {"DisplayName": "Taken"}},
            {"operation": "create", "Customer": {"DisplayName": "New"}},
            {"Query": "SELECT * FROM Customer"},
        ]
    )
    fault = {"Error": [{"Message": "Duplicate Name Exists Error", "code": "6240", "Detail": "secret-token-x"}]}
    payload = {"BatchItemResponse": [{"bId": "0", "Fault": fault}, {"bId": "1", "Customer": {"Id": "7"}}]}
    results = batch_results(chunk, payload, "rid-1", ["secret-token-x"])
    assert isinstance(results["0"], QboDuplicateName) and results["0"].requestid == "rid-1"
    assert "batch item 0: create Customer DisplayName=Taken" in str(results["0"]) and "secret-token-x" not in str(
        results["0"]
    )
    assert results["1"] == {"bId": "1", "Customer": {"Id": "7"}}
    assert type(results["2"]) is QboFault and "no result for this item" in str(results["2"])
    assert "batch item 2: query SELECT * FROM Customer" in str(results["2"])
