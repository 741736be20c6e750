"""The QBO query language: the parser and evaluator on their own, then the query endpoint over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sandbox.qbo.query import check_query, run_query
from sandbox.qbo.query_parser import Condition, QueryError, parse_query
from sandbox.qbo.schema import QUERYABLE
from sandbox.qbo.times import PACIFIC
from tests.sandbox.qbo_support import fault_of

# -- parser ----------------------------------------------------------------------------------------


def test_keywords_are_case_insensitive_and_clauses_come_in_either_order():
    query = parse_query(
        "select * from Invoice wHeRe TxnDate >= '2024-05-01' and Balance > 0 "
        "OrderBy TxnDate desc, DocNumber MaxResults 50 StartPosition 11"
    )
    assert query.entity == "Invoice" and query.fields is None and not query.count
    assert query.conditions == [Condition("TxnDate", ">=", ["2024-05-01"]), Condition("Balance", ">", [0])]
    assert query.order == [("TxnDate", True), ("DocNumber", False)]
    assert (query.start_position, query.max_results) == (11, 50)
    assert parse_query("SELECT * FROM Customer ORDER BY DisplayName").order == [("DisplayName", False)]


def test_defaults_count_projection_in_and_like():
    assert parse_query("SELECT * FROM Customer").max_results == 100
    assert parse_query("SELECT COUNT(*) FROM Customer").count is True
    assert parse_query("SELECT *, Sku FROM Item").fields is None
    assert parse_query("SELECT Id, DisplayName FROM Customer").fields == ["Id", "DisplayName"]
    query = parse_query(
        "SELECT * FROM Customer WHERE Id IN ('1', '2', 3) AND DisplayName LIKE 'Con%' AND Active = true"
    )
    assert query.conditions == [
        Condition("Id", "in", ["1", "2", 3]),
        Condition("DisplayName", "like", ["Con%"]),
        Condition("Active", "=", [True]),
    ]


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r"'O\'Brien'", "O'Brien"),
        (r"'back\\slash'", "back\\slash"),
        (r"'ends with \\'", "ends with \\"),
        (r"'\\\''", "\\'"),
        (r"'C:\temp'", "C:\\temp"),  # an unknown escape keeps its backslash
        ("'%'", "%"),
    ],
)
def test_quoted_strings_unescape_quotes_and_backslashes(literal, value):
    query = parse_query(f"SELECT * FROM Customer WHERE DisplayName = {literal}")
    assert query.conditions[0].values == [value]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "The query provided was empty"),
        ("SELECT * FROM Customer WHERE DisplayName = 'Cutlery 'R Us'", "Encountered"),
        ("SELECT * FROM Customer WHERE DisplayName = 'open", "Lexical error"),
        ("SELECT * FROM Customer WHERE Active = true OR Balance > 0", "OR is not supported"),
        ("SELECT * FROM Customer WHERE Balance != 0", "Encountered"),
        ("SELECT * FROM Customer WHERE Balance # 0", "Lexical error"),
        ("SELECT * Customer", "Encountered"),
        ("SELECT * FROM Customer MAXRESULTS ten", "Encountered"),
        ("SELECT * FROM Customer MAXRESULTS 5 MAXRESULTS 6", "Encountered"),
        ("SELECT * FROM Customer WHERE", "<EOF>"),
    ],
)
def test_syntax_errors_are_4000(text, fragment):
    with pytest.raises(QueryError) as error:
        parse_query(text)
    assert (error.value.code, error.value.message) == ("4000", "Error parsing query")
    assert error.value.detail.startswith("QueryParserError:") and fragment in error.value.detail


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("SELECT * FROM customer", "Invalid entity name: customer"),
        ("SELECT * FROM Widget", "Invalid entity name"),
        ("SELECT * FROM Customer WHERE Colour = 'red'", "property 'Colour' is not queryable"),
        ("SELECT * FROM Invoice WHERE Line = 'x'", "property 'Line' is not queryable"),
        ("SELECT * FROM Invoice ORDERBY Nope", "property 'Nope'"),
        ("SELECT * FROM Customer MAXRESULTS 1001", "value 1001 is too large. Max allowed value is 1000."),
        ("SELECT * FROM Customer MAXRESULTS 0", "too small"),
    ],
)
def test_unknown_entities_properties_and_oversized_pages_are_4001(text, fragment):
    with pytest.raises(QueryError) as error:
        check_query(parse_query(text), QUERYABLE)
    assert (error.value.code, error.value.message) == ("4001", "Invalid query")
    assert fragment in error.value.detail


def test_evaluation_compares_by_type():
    rows = [
        {
            "Id": "2",
            "DisplayName": "beta",
            "Balance": 10,
            "Active": True,
            "MetaData": {"LastUpdatedTime": "2024-06-01T10:00:00-07:00"},
        },
        {
            "Id": "10",
            "DisplayName": "Alpha",
            "Balance": 2.5,
            "Active": False,
            "MetaData": {"LastUpdatedTime": "2024-06-01T09:00:00-07:00"},
        },
        {
            "Id": "1",
            "DisplayName": "gamma",
            "Balance": 0,
            "Active": True,
            "MetaData": {"LastUpdatedTime": "2024-06-01T18:30:00Z"},
        },
    ]

    def ids(text: str) -> list[str]:
        return [r["Id"] for r in run_query(parse_query(text), rows).get("Customer", [])]

    assert ids("SELECT * FROM Customer") == ["1", "2", "10"]  # Id order, numerically
    assert ids("SELECT * FROM Customer WHERE Balance > '2'") == ["2", "10"]
    assert ids("SELECT * FROM Customer WHERE Active = false") == ["10"]
    assert ids("SELECT * FROM Customer WHERE DisplayName = 'ALPHA'") == ["10"]  # strings compare case-insensitively
    assert ids("SELECT * FROM Customer WHERE DisplayName LIKE '%a'") == ["1", "2", "10"]
    assert ids("SELECT * FROM Customer WHERE DisplayName LIKE 'a%'") == ["10"]
    assert ids("SELECT * FROM Customer ORDERBY DisplayName") == ["10", "2", "1"]
    # 18:30Z is 11:30 Pacific: date-times compare as instants whatever their offset
    assert ids("SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '2024-06-01T09:30:00-07:00'") == ["1", "2"]
    assert ids("SELECT * FROM Customer ORDERBY MetaData.LastUpdatedTime DESC") == ["1", "2", "10"]
    assert run_query(parse_query("SELECT * FROM Customer WHERE Balance > 100"), rows) == {}
    assert run_query(parse_query("SELECT COUNT(*) FROM Customer WHERE Active = true"), rows) == {"totalCount": 2}
    page = run_query(parse_query("SELECT * FROM Customer STARTPOSITION 2 MAXRESULTS 5"), rows)
    assert page["startPosition"] == 2 and page["maxResults"] == 2
    projected = run_query(parse_query("SELECT DisplayName FROM Customer MAXRESULTS 1"), rows)["Customer"]
    assert projected == [{"Id": "1", "DisplayName": "gamma"}]


# -- over HTTP -------------------------------------------------------------------------------------


def test_get_and_post_queries_agree_and_escapes_round_trip(qbo):
    for name in ("O'Brien Plumbing", "Back\\Slash Ltd", "Quote\\' Mix", "100% Legit"):
        qbo.customer(name)
    for name in ("O'Brien Plumbing", "Back\\Slash Ltd", "Quote\\' Mix"):
        literal = name.replace("\\", "\\\\").replace("'", "\\'")
        text = f"SELECT * FROM Customer WHERE DisplayName = '{literal}'"
        for via in ("GET", "POST"):
            assert [c["DisplayName"] for c in qbo.query(text, via)["Customer"]] == [name]
    # python-quickbooks escapes quotes only; a lone backslash before another letter is kept as is
    assert (
        qbo.query("select * from Customer where DisplayName = 'Back\\Slash Ltd'")["Customer"][0]["DisplayName"]
        == "Back\\Slash Ltd"
    )
    assert [
        c["DisplayName"] for c in qbo.query("select * from Customer where DisplayName like '100%'")["Customer"]
    ] == ["100% Legit"]


def test_filters_on_refs_nested_properties_and_dates(qbo):
    contoso = qbo.customer("Contoso Dental")
    other = qbo.customer("Fabrikam")
    item = qbo.service_item("Managed Services", 50)
    since = (datetime.now(PACIFIC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    a = qbo.create("Invoice", qbo.invoice_body(contoso["Id"], item["Id"], 50, TxnDate="2024-05-31", DocNumber="A-1"))
    b = qbo.create("Invoice", qbo.invoice_body(contoso["Id"], item["Id"], 150, TxnDate="2024-06-15", DocNumber="A-2"))
    c = qbo.create("Invoice", qbo.invoice_body(other["Id"], item["Id"], 250, TxnDate="2024-06-20", DocNumber="B-1"))

    def ids(text: str) -> list[str]:
        return [i["Id"] for i in qbo.query(text).get("Invoice", [])]

    assert ids(f"SELECT * FROM Invoice WHERE CustomerRef = '{contoso['Id']}'") == [a["Id"], b["Id"]]
    assert ids(f"SELECT * FROM Invoice WHERE CustomerRef.value = '{other['Id']}'") == [c["Id"]]
    assert ids("SELECT * FROM Invoice WHERE TxnDate >= '2024-06-01' AND TxnDate <= '2024-06-15'") == [b["Id"]]
    assert ids(f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '{since}' ORDERBY TotalAmt DESC") == [
        c["Id"],
        b["Id"],
        a["Id"],
    ]
    assert ids("SELECT * FROM Invoice WHERE DocNumber IN ('A-2', 'B-1', 'Z-9')") == [b["Id"], c["Id"]]
    assert ids("SELECT * FROM Invoice WHERE Balance > 100 AND DocNumber LIKE 'A%'") == [b["Id"]]
    assert qbo.query("SELECT COUNT(*) FROM Invoice WHERE TotalAmt > '60'") == {"totalCount": 2}
    assert qbo.query("SELECT * FROM Invoice WHERE DocNumber = 'nope'") == {}


def test_paging_past_1000_records(fresh_sandbox, qbo):
    fresh_sandbox.seed({"qbo": {"Customer": [{"DisplayName": f"Customer {n:04d}"} for n in range(1, 1206)]}})
    pages = []
    start = 1
    while True:
        page = qbo.query(f"SELECT * FROM Customer STARTPOSITION {start} MAXRESULTS 1000")
        if not page:
            break
        assert page["startPosition"] == start and page["maxResults"] == len(page["Customer"])
        pages.append(page["Customer"])
        start += 1000
    assert [len(p) for p in pages] == [1000, 205]
    names = [c["DisplayName"] for p in pages for c in p]
    assert names == [f"Customer {n:04d}" for n in range(1, 1206)]
    assert qbo.query("SELECT * FROM Customer")["maxResults"] == 100  # the default page
    assert qbo.query("SELECT COUNT(*) FROM Customer") == {"totalCount": 1205}
    assert qbo.query("SELECT * FROM Customer STARTPOSITION 1201 MAXRESULTS 10")["maxResults"] == 5


def test_query_faults_over_http(qbo):
    syntax = fault_of(qbo.query_response("SELECT * FROM Customer WHERE DisplayName = 'Cutlery 'R Us'"))
    assert (syntax["code"], syntax["Message"]) == ("4000", "Error parsing query")
    for text in (
        "SELECT * FROM customer",
        "SELECT * FROM Customer WHERE Shoe = '1'",
        "SELECT * FROM Customer MAXRESULTS 2000",
    ):
        error = fault_of(qbo.query_response(text, via="POST"))
        assert (error["code"], error["Message"]) == ("4001", "Invalid query")
    assert fault_of(qbo.call("GET", "query"))["code"] == "4000"  # no query at all


def test_name_lists_answer_with_active_records_unless_asked(qbo):
    gone = qbo.customer("Alpine Ski House")
    qbo.create("Customer", {"Id": gone["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    qbo.customer("Blue Yonder Airlines")

    def names(text: str) -> list[str]:
        return [c["DisplayName"] for c in qbo.query(text).get("Customer", [])]

    assert names("SELECT * FROM Customer") == ["Blue Yonder Airlines"]
    assert names("SELECT * FROM Customer WHERE DisplayName = 'Alpine Ski House'") == []
    assert names("SELECT * FROM Customer WHERE Active = false") == ["Alpine Ski House"]
    assert names("SELECT * FROM Customer WHERE Active IN (true, false)") == ["Alpine Ski House", "Blue Yonder Airlines"]
    assert qbo.query("SELECT COUNT(*) FROM Customer") == {"totalCount": 1}
    # the inactive customer still holds its name, and a read by Id still finds it
    assert fault_of(qbo.post("customer", {"DisplayName": "Alpine Ski House"}))["code"] == "6240"
    assert qbo.get("Customer", gone["Id"])["Active"] is False
