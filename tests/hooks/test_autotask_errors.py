"""Tests of ``atqbo.hooks.autotask_errors``: how an Autotask answer or failure says which error it is."""

from __future__ import annotations

import pytest
import requests

from atqbo.hooks.autotask_errors import (
    AutotaskAuthError,
    AutotaskNotFoundError,
    AutotaskServerError,
    AutotaskValidationError,
    connection_refused,
    detail_of,
    errors_of,
    is_retryable,
    path_of,
    refusal,
)


def test_refused_connection_is_known_to_be_unsent():
    # A create is retried only when the request surely never reached Autotask.
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post("http://127.0.0.1:9/atservicesrest/v1.0/Companies", timeout=2)
    assert connection_refused(refused.value)
    assert not connection_refused(requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset")))


@pytest.mark.parametrize(
    "status, errors, cls, words",
    [
        (500, ["IntegrationCode is invalid."], AutotaskAuthError, "extra.integration_code of Airflow connection 'at'"),
        (500, ["User does not have adequate permissions"], AutotaskAuthError, "security level"),
        (404, [], AutotaskNotFoundError, "POST Companys: not found (HTTP 404: detail)"),
        (500, ["No matching records found for Company id 1"], AutotaskNotFoundError, "not found"),
        (500, ["Missing required field phone"], AutotaskValidationError, "Fix what Autotask names"),
        (400, [], AutotaskValidationError, "Autotask rejected POST Companys (HTTP 400: detail)"),
        (501, ["odd"], AutotaskServerError, "Autotask POST Companys failed (HTTP 501: detail)"),
    ],
)
def test_refusals_become_the_typed_error_with_a_fix(status, errors, cls, words):
    assert not is_retryable(status, errors)
    found, message = refusal(status, errors, ": detail", "POST Companys", user="api@example.com", conn_id="at")
    assert found is cls and words in message


def test_throttling_and_bare_server_errors_are_worth_retrying():
    assert is_retryable(429, []) and is_retryable(429, ["thread limit"])
    assert is_retryable(500, []) and is_retryable(503, [])
    assert not is_retryable(500, ["Missing required field phone"])


def test_an_answer_is_read_by_its_errors_array_only():
    response = requests.Response()
    response.reason = "Internal Server Error"
    assert errors_of({"Errors": ["a", None, " ", "b"]}) == ["a", "b"]
    assert errors_of({"Message": "An error has occurred."}) == []  # ASP.NET's message is no verdict
    assert detail_of({"errors": ["a", "b"]}, response) == ": a; b"
    assert detail_of({"Message": "An error has occurred."}, response) == ": An error has occurred."
    assert detail_of(None, response) == " Internal Server Error"
    assert path_of("https://ws1.autotask.net/atservicesrest/v1.0/Companies/query?x=secret") == (
        "/atservicesrest/v1.0/Companies/query"
    )
    assert path_of("Companies/query?x=1") == "Companies/query"
