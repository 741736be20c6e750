"""Several QBO companies (realms) served at once, over real HTTP: a seed's ``qbo.companies``,
each company's own books, tokens (its own app's client, or the default company's shared one),
revocation, limits, rate windows and ``requestid`` answers; tokens of one company refused on another;
the state round trip; the Airflow connections; bad ``companies`` refused whole; the named seed
``multi-company``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests

from sandbox import SeedError
from sandbox.qbo import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REALM_ID
from sandbox.seeds import SEED_NAMES, load_seed
from sandbox.seeds.multi_company import (
    AU_CONN_ID,
    AU_CUSTOMER_NAME,
    AU_REALM_ID,
    COMPANY_SETTINGS,
    MANUAL_CONN_ID,
    MANUAL_REALM_ID,
    MANUAL_STATE_CODES,
)
from sandbox.seeds.profiles import PROFILE_SETTINGS, qbo_profile
from tests.sandbox.qbo_support import QboClient

REALM_B = "4620816365212676471"
REALM_C = "4620816365212676472"


def control(sb, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{sb.base_url}/_sandbox/{path}", timeout=30, **kwargs)


def seed(sb, doc: dict[str, Any]) -> None:
    response = control(sb, "POST", "seed", json=doc)
    assert response.status_code == 200, response.text


def client_of(sb, conn_id: str) -> QboClient:
    """A client built from the Airflow connection the sandbox gives for ``conn_id``, as atqbo's hook does."""
    conn = control(sb, "GET", "connections").json()[conn_id]
    extra = conn["extra"]
    assert extra["token_url"] == sb.base_url + "/oauth2/v1/tokens/bearer"
    return QboClient(sb.base_url, extra["realm_id"], conn["login"], conn["password"], extra["refresh_token"])


@pytest.fixture
def three(fresh_sandbox):
    """The default company and two more: B with its own app, C through the default company's app."""
    seed(
        fresh_sandbox,
        {
            "qbo": {
                "companies": [
                    {"realm_id": REALM_B, "conn_id": "qbo_b", "client": "own", "CompanyInfo": {"CompanyName": "B Ltd"}},
                    {"realm_id": REALM_C, "conn_id": "qbo_c", "client": "shared", "CompanyInfo": {"CompanyName": "C"}},
                ]
            }
        },
    )
    return fresh_sandbox


def test_realms_three_realms_are_served_at_once_each_with_its_own_books(three):
    clients = {conn_id: client_of(three, conn_id) for conn_id in ("qbo_default", "qbo_b", "qbo_c")}
    assert [c.realm_id for c in clients.values()] == [DEFAULT_REALM_ID, REALM_B, REALM_C]
    for conn_id, client in clients.items():
        info = client.get("CompanyInfo", client.realm_id)
        assert info["CompanyName"] == {"qbo_default": "Sandbox MSP Books", "qbo_b": "B Ltd", "qbo_c": "C"}[conn_id]
        # The same name in each company: names are unique per company only.
        client.customer("Contoso Dental", Notes=conn_id)
    for conn_id, client in clients.items():
        found = client.query("select * from Customer")["Customer"]
        assert [(c["DisplayName"], c["Notes"]) for c in found] == [("Contoso Dental", conn_id)]
    state = three.state()["qbo"]
    assert [c["Notes"] for c in state["Customer"]] == ["qbo_default"]
    assert [(c["realm_id"], c["conn_id"], c["client"]) for c in state["companies"]] == [
        (REALM_B, "qbo_b", "own"),
        (REALM_C, "qbo_c", "shared"),
    ]
    assert [[x["Notes"] for x in c["Customer"]] for c in state["companies"]] == [["qbo_b"], ["qbo_c"]]


def test_realms_two_realms_a_company_part_seeded_again_merges_into_that_company(fresh_sandbox):
    part = {"realm_id": REALM_B, "conn_id": "qbo_b", "Customer": [{"DisplayName": "First"}]}
    seed(fresh_sandbox, {"qbo": {"companies": [part]}})
    seed(fresh_sandbox, {"qbo": {"companies": [{"realm_id": REALM_B, "Customer": [{"DisplayName": "Second"}]}]}})
    seed(fresh_sandbox, {"qbo": {"companies": [{"realm_id": REALM_B, "conn_id": "qbo_renamed"}]}})
    client = client_of(fresh_sandbox, "qbo_renamed")
    names = [c["DisplayName"] for c in client.query("select * from Customer")["Customer"]]
    assert names == ["First", "Second"]
    assert "qbo_b" not in fresh_sandbox.connections()
    assert fresh_sandbox.qbo.realm_ids() == [DEFAULT_REALM_ID, REALM_B]


def test_realms_a_token_of_one_realm_is_refused_on_another(three):
    default, b = client_of(three, "qbo_default"), client_of(three, "qbo_b")
    default.refresh()
    b.refresh()
    for owner, other in ((b, DEFAULT_REALM_ID), (default, REALM_B), (default, REALM_C), (b, "123")):
        refused = owner.call("GET", f"{owner.base_url}/v3/company/{other}/companyinfo/{other}")
        assert refused.status_code == 403, (owner.realm_id, other, refused.text)
        error = refused.json()["Fault"]["Error"][0]
        assert error["code"] == "3100" and other in error["Detail"]
    assert b.call("GET", f"companyinfo/{REALM_B}").status_code == 200
    unknown = b.call("GET", "preferences", headers={"Authorization": "Bearer not-a-token"})
    assert unknown.status_code == 401


def test_realms_a_shared_client_realm_and_an_own_client_realm_both_refresh(three):
    b, c = client_of(three, "qbo_b"), client_of(three, "qbo_c")
    assert (c.client_id, c.client_secret) == (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)  # one app, two companies
    assert b.client_id not in (DEFAULT_CLIENT_ID, "") and b.client_secret != DEFAULT_CLIENT_SECRET
    for client in (b, c):
        first = client.refresh()
        assert first["refresh_token"] != client_of(three, "qbo_default").refresh_token
        assert client.call("GET", "preferences").status_code == 200
    # A refresh token belongs to one app's authorization for one company.
    default = client_of(three, "qbo_default")
    wrong_app = QboClient(three.base_url, REALM_B, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    refused = wrong_app.token_request(grant_type="refresh_token", refresh_token=b.refresh_token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    other_app = QboClient(three.base_url, DEFAULT_REALM_ID, b.client_id, b.client_secret)
    refused = other_app.token_request(grant_type="refresh_token", refresh_token=default.refresh_token)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    bad_secret = QboClient(three.base_url, REALM_B, b.client_id, "nope")
    assert bad_secret.token_request(grant_type="refresh_token", refresh_token=b.refresh_token).status_code == 401
    # The default company's own token still refreshes through the shared app, into its own company.
    default.refresh()
    assert default.call("GET", f"companyinfo/{DEFAULT_REALM_ID}").status_code == 200


def test_realms_revoking_one_realms_refresh_token_leaves_the_others_working(three):
    clients = {conn_id: client_of(three, conn_id) for conn_id in ("qbo_default", "qbo_b", "qbo_c")}
    for client in clients.values():
        client.refresh()
    answer = control(three, "POST", "qbo/revoke", json={"realm_id": REALM_C})
    assert answer.status_code == 200 and answer.json() == {"status": "revoke", "realm_id": REALM_C}
    c = clients["qbo_c"]
    assert c.call("GET", "preferences").status_code == 401  # every token of that company died
    dead = c.token_request(grant_type="refresh_token", refresh_token=c.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert three.connections()["qbo_c"]["extra"]["refresh_token"] is None
    for conn_id in ("qbo_default", "qbo_b"):  # C shares the default company's app: still untouched
        client = clients[conn_id]
        assert client.call("GET", "preferences").status_code == 200
        client.refresh()
    # The user reconnects C: a new refresh token through a seed of that company.
    seed(three, {"qbo": {"companies": [{"realm_id": REALM_C, "oauth": {"refresh_token": "reconnected-c"}}]}})
    again = client_of(three, "qbo_c")
    assert again.refresh_token == "reconnected-c"
    again.refresh()
    assert again.call("GET", "preferences").status_code == 200


def test_realms_intuits_revoke_endpoint_ends_one_companys_tokens_only(three):
    default, c = client_of(three, "qbo_default"), client_of(three, "qbo_c")  # one app, two companies
    default.refresh()
    c.refresh()
    revoked = requests.post(
        three.base_url + "/v2/oauth2/tokens/revoke",
        json={"token": c.refresh_token},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        timeout=10,
    )
    assert revoked.status_code == 200
    assert c.call("GET", "preferences").status_code == 401
    assert default.call("GET", "preferences").status_code == 200
    default.refresh()


def test_realms_an_expired_refresh_token_of_one_realm(three):
    b, default = client_of(three, "qbo_b"), client_of(three, "qbo_default")
    b.refresh()
    three.qbo.expire_refresh_token(REALM_B)
    assert b.call("GET", "preferences").status_code == 200  # its access token lives on
    dead = b.token_request(grant_type="refresh_token", refresh_token=b.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    default.refresh()
    assert control(three, "POST", "qbo/expire_refresh_token", json={}).json()["realm_id"] == DEFAULT_REALM_ID
    assert default.token_request(grant_type="refresh_token", refresh_token=default.refresh_token).status_code == 400
    unknown = control(three, "POST", "qbo/revoke", json={"realm_id": "999"})
    assert unknown.status_code == 400 and "999" in unknown.json()["error"]
    assert control(three, "POST", "qbo/revoke", json=[REALM_B]).status_code == 400
    with pytest.raises(ValueError, match="999"):
        three.qbo.revoke_realm("999")


def test_realms_per_realm_limits_a_throttled_realm_does_not_throttle_the_other(three):
    b, c = client_of(three, "qbo_b"), client_of(three, "qbo_c")
    b.refresh()
    c.refresh()
    answer = control(three, "POST", "limits", json={"qbo": {"realms": {REALM_B: {"requests_per_minute": 2}}}})
    assert answer.status_code == 200, answer.text
    limits = answer.json()["qbo"]
    assert limits["requests_per_minute"] == 500  # the default company's
    assert {realm: v["requests_per_minute"] for realm, v in limits["realms"].items()} == {
        DEFAULT_REALM_ID: 500,
        REALM_B: 2,
        REALM_C: 500,
    }
    assert [b.call("GET", "preferences").status_code for _ in range(3)] == [200, 200, 429]
    assert [c.call("GET", "preferences").status_code for _ in range(5)] == [200] * 5
    # Each company has its own rate windows: a top-level limit is every company's, not a shared count.
    control(three, "POST", "limits", json={"qbo": {"requests_per_minute": 7}})
    assert {v["requests_per_minute"] for v in three.limits()["qbo"]["realms"].values()} == {7}
    assert [c.call("GET", "preferences").status_code for _ in range(3)] == [200, 200, 429]  # 5 + 2 = 7
    default = client_of(three, "qbo_default")
    assert default.call("GET", "preferences").status_code == 200
    # A company seeded later starts with the limits set for every company.
    seed(three, {"qbo": {"companies": [{"realm_id": "77", "conn_id": "qbo_later"}]}})
    assert three.limits()["qbo"]["realms"]["77"]["requests_per_minute"] == 7
    bad = control(three, "POST", "limits", json={"qbo": {"realms": {"404": {"latency_ms": 1}}}})
    assert bad.status_code == 400 and "404" in bad.json()["error"]
    bad = control(three, "POST", "limits", json={"qbo": {"realms": {REALM_B: {"latency": 1}}}})
    assert bad.status_code == 400 and "unknown qbo limits" in bad.json()["error"]


def test_realms_requestid_replays_per_realm(three):
    b, c = client_of(three, "qbo_b"), client_of(three, "qbo_c")
    made = {}
    for client in (b, c):
        first = client.post("customer", {"DisplayName": "Same Request"}, requestid="rq-realms-1")
        again = client.post("customer", {"DisplayName": "Same Request"}, requestid="rq-realms-1")
        assert first.status_code == 200 and again.content == first.content
        made[client.realm_id] = first.json()["Customer"]
    for client in (b, c):
        assert client.query("select count(*) from Customer")["totalCount"] == 1
    assert three.state()["qbo"]["Customer"] == []


def test_realms_a_fault_rule_targets_one_realm_by_its_path(three):
    b, c = client_of(three, "qbo_b"), client_of(three, "qbo_c")
    rule = {"api": "qbo", "mode": "error_500", "path": f"^/v3/company/{REALM_B}/"}
    assert control(three, "POST", "faults", json=rule).status_code == 200
    assert b.call("GET", "preferences").status_code == 500
    assert c.call("GET", "preferences").status_code == 200


def test_realms_the_state_round_trips_every_realm_tokens_included(fresh_sandbox):
    fresh_sandbox.seed(load_seed("multi-company"))
    au, manual = client_of(fresh_sandbox, AU_CONN_ID), client_of(fresh_sandbox, MANUAL_CONN_ID)
    au.refresh()  # rotates: the state holds the new refresh token
    manual.customer("Added After The Seed")
    seed(fresh_sandbox, {"qbo": {"companies": [{"realm_id": AU_REALM_ID, "Preferences": {"SalesFormsPrefs": {}}}]}})
    before = control(fresh_sandbox, "GET", "state").json()
    assert before["qbo"]["companies"][0]["oauth"]["refresh_token"] == au.refresh_token
    fresh_sandbox.reset()
    fresh_sandbox.seed(before)
    after = fresh_sandbox.state()

    def without_live_access_tokens(state: dict[str, Any]) -> dict[str, Any]:
        for part in (state["qbo"], *state["qbo"]["companies"]):
            part["oauth"].pop("live_access_tokens")
        return state

    assert without_live_access_tokens(after) == without_live_access_tokens(before)
    for conn_id in (AU_CONN_ID, MANUAL_CONN_ID, "qbo_default"):  # every refresh token works again
        client = client_of(fresh_sandbox, conn_id)
        client.refresh()
        assert client.call("GET", "preferences").status_code == 200
    assert client_of(fresh_sandbox, AU_CONN_ID).refresh_token != au.refresh_token  # rotated on the refresh above


def test_realms_connections_one_per_company_with_its_apps_client(three):
    conns = control(three, "GET", "connections").json()
    assert list(conns)[:4] == ["autotask_default", "qbo_default", "qbo_b", "qbo_c"]
    for conn_id, realm in (("qbo_default", DEFAULT_REALM_ID), ("qbo_b", REALM_B), ("qbo_c", REALM_C)):
        conn = conns[conn_id]
        assert conn["conn_type"] == "quickbooks_online" and conn["host"] == three.base_url
        assert set(conn["extra"]) == {"realm_id", "refresh_token", "token_url"} and conn["extra"]["realm_id"] == realm
    assert (conns["qbo_c"]["login"], conns["qbo_c"]["password"]) == (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    assert conns["qbo_b"]["login"] != DEFAULT_CLIENT_ID
    # The live refresh token: after a rotation, the connection gives the new one.
    b = client_of(three, "qbo_b")
    b.refresh()
    assert three.connections()["qbo_b"]["extra"]["refresh_token"] == b.refresh_token
    # A seeded own client, and the shared one following the default company's.
    seed(
        three,
        {
            "qbo": {
                "oauth": {"client_id": "new-app", "client_secret": "new-secret"},
                "companies": [{"realm_id": REALM_B, "oauth": {"client_id": "b-app", "client_secret": "b-secret"}}],
            }
        },
    )
    conns = three.connections()
    assert (conns["qbo_b"]["login"], conns["qbo_b"]["password"]) == ("b-app", "b-secret")
    assert (conns["qbo_c"]["login"], conns["qbo_c"]["password"]) == ("new-app", "new-secret")
    client_of(three, "qbo_c").refresh()


NEW_1, NEW_2 = "4620816365212676481", "4620816365212676482"  # realms not served yet
BAD_COMPANIES = [
    ({"companies": {"realm_id": NEW_1}}, "must be a list"),
    ({"companies": [{"realm_id": "12ab", "conn_id": "qbo_x"}]}, "'12ab' is not a realm id"),
    ({"companies": [{"conn_id": "qbo_x"}]}, "None is not a realm id"),
    ({"companies": [{"realm_id": NEW_1}]}, "needs a 'conn_id'"),
    ({"companies": [{"realm_id": DEFAULT_REALM_ID, "conn_id": "qbo_x"}]}, "the default company's"),
    (
        {"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x"}, {"realm_id": NEW_1, "conn_id": "qbo_y"}]},
        "appears twice",
    ),
    (
        {"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x"}, {"realm_id": NEW_2, "conn_id": "qbo_x"}]},
        "conn_id 'qbo_x' is already realm " + NEW_1,
    ),
    ({"companies": [{"realm_id": NEW_1, "conn_id": "qbo_default"}]}, "conn_id 'qbo_default' is already realm"),
    ({"companies": [{"realm_id": NEW_1, "conn_id": "bad id!"}]}, "not an Airflow connection id"),
    ({"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x", "profile": "mars-tax"}]}, "unknown profile 'mars-tax'"),
    ({"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x", "client": "borrowed"}]}, "client 'borrowed'"),
    (
        {"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x", "client": "shared", "oauth": {"client_id": "x"}}]},
        "'shared' client company uses the default company's client",
    ),
    ({"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x", "Customers": []}]}, "unknown keys"),
    ({"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x", "companies": []}]}, "unknown keys"),
    (
        {"companies": [{"realm_id": NEW_1, "conn_id": "qbo_x", "Customer": [{"DisplayName": "Bad: Name"}]}]},
        f"company realm {NEW_1} (qbo_x): Customer[0] 'Bad: Name' breaks rule 2040",
    ),
]


@pytest.mark.parametrize(("qbo_part", "reason"), BAD_COMPANIES)
def test_realms_a_bad_companies_seed_is_refused_whole(three, qbo_part, reason):
    before = three.state()
    doc = {
        "autotask": {
            "Companies": [{"companyName": "Not Loaded", "companyType": 1, "phone": "1", "ownerResourceID": 29682885}]
        },
        "qbo": {"Customer": [{"DisplayName": "Not Loaded Either"}], **qbo_part},
    }
    with pytest.raises(SeedError) as refused:
        three.seed(doc)
    assert reason in str(refused.value)
    assert three.state() == before
    answer = control(three, "POST", "seed", json=doc)
    assert answer.status_code == 400 and reason in answer.json()["error"]
    assert three.state() == before


def test_realms_refused_changes_to_an_existing_company(three):
    for company, reason in (
        ({"realm_id": REALM_B, "client": "shared"}, "cannot change"),
        ({"realm_id": REALM_B, "profile": "au-gst"}, "only starts a new company"),
        ({"realm_id": REALM_B, "conn_id": "qbo_c"}, f"conn_id 'qbo_c' is already realm {REALM_C}"),
    ):
        with pytest.raises(SeedError, match=reason):
            three.seed({"qbo": {"companies": [company]}})
    with pytest.raises(SeedError, match="is an extra company's"):
        three.seed({"qbo": {"realm_id": REALM_B}})


def test_realms_the_multi_company_seed_loads_each_realm_with_its_profile(fresh_sandbox):
    assert "multi-company" in SEED_NAMES
    seed_doc = load_seed("multi-company")
    demo = load_seed("us-ast")  # its base: the us-ast tenant, its QBO company the default
    assert seed_doc["autotask"].keys() == demo["autotask"].keys()
    assert len(seed_doc["autotask"]["Invoices"]) == len(demo["autotask"]["Invoices"])
    aud = next(c for c in seed_doc["autotask"]["Currencies"] if c["name"] == "AUD")
    australia = next(r for r in seed_doc["autotask"]["TaxRegions"] if r["name"] == "Australia")
    assert [c["companyName"] for c in seed_doc["autotask"]["Companies"] if c.get("currencyID") == aud["id"]] == [
        AU_CUSTOMER_NAME
    ]
    assert {t["taxRate"] for t in seed_doc["autotask"]["Taxes"] if t["taxRegionID"] == australia["id"]} == {10.0}
    control(fresh_sandbox, "POST", "seed?name=multi-company")
    conns = control(fresh_sandbox, "GET", "connections").json()
    assert {"qbo_default", AU_CONN_ID, MANUAL_CONN_ID} <= set(conns)
    assert conns[AU_CONN_ID]["extra"]["realm_id"] == AU_REALM_ID
    assert conns[MANUAL_CONN_ID]["extra"]["realm_id"] == MANUAL_REALM_ID
    assert conns[AU_CONN_ID]["login"] != conns["qbo_default"]["login"]  # its own app
    assert conns[MANUAL_CONN_ID]["login"] == conns["qbo_default"]["login"]  # the shared app

    default = client_of(fresh_sandbox, "qbo_default")
    assert default.query("select count(*) from Invoice")["totalCount"] == len(demo["qbo"]["Invoice"])
    assert default.get("CompanyInfo", DEFAULT_REALM_ID)["Country"] == "US"
    for conn_id, profile in ((AU_CONN_ID, "au-gst"), (MANUAL_CONN_ID, "us-manual-tax")):
        client = client_of(fresh_sandbox, conn_id)
        document = qbo_profile(profile)["qbo"]
        info = client.get("CompanyInfo", client.realm_id)
        assert info["Country"] == document["CompanyInfo"]["Country"]
        assert info["CompanyName"] == document["CompanyInfo"]["CompanyName"]
        prefs = client.call("GET", "preferences").json()["Preferences"]
        for section, values in document["Preferences"].items():
            assert {k: prefs[section][k] for k in values} == values, (conn_id, section)
        codes = {c["Name"] for c in client.query("select * from TaxCode")["TaxCode"]}
        more = set(MANUAL_STATE_CODES.values()) if conn_id == MANUAL_CONN_ID else set()  # its other states
        assert codes == {c["Name"] for c in document["TaxCode"]} | more
        assert client.query("select count(*) from Invoice")["totalCount"] == 0
        # What atqbo's invoice sync looks up by name: the demo's terms and classes, the accounts.
        assert {t["Name"] for t in client.query("select * from Term")["Term"]} >= {"Net 30 Days", "Due on Receipt"}
        assert len(client.query("select * from Class")["Class"]) == 3
        more_codes = {"tax_code_map": MANUAL_STATE_CODES} if conn_id == MANUAL_CONN_ID else {}
        assert COMPANY_SETTINGS[conn_id] == {**PROFILE_SETTINGS[profile], **more_codes}
    # An AU company refuses a line without a GST code; with one, QBO computes the 10%.
    au = client_of(fresh_sandbox, AU_CONN_ID)
    customer = au.customer("Harbour Customer")
    item = au.service_item("Managed Services AU", 100)
    refused = au.post("invoice", au.invoice_body(customer["Id"], item["Id"], 100))
    assert refused.status_code == 400 and refused.json()["Fault"]["Error"][0]["code"] == "6000"
    gst = next(c["Id"] for c in au.query("select * from TaxCode")["TaxCode"] if c["Name"] == "GST")
    body = au.invoice_body(customer["Id"], item["Id"], 100)
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": gst}
    invoice = au.create("Invoice", body)
    assert invoice["TotalAmt"] == 110 and invoice["CurrencyRef"]["value"] == "AUD"
    assert default.query("select count(*) from Customer where DisplayName = 'Harbour Customer'")["totalCount"] == 0


def test_realms_python_m_sandbox_prints_a_connection_per_company():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--seed", "multi-company", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("sandbox listening on http://127.0.0.1:"), lines[0] + process.stderr.read()
        conns = dict(line.strip().removeprefix("AIRFLOW_CONN_").split("=", 1) for line in lines[1:])
        assert list(conns) == ["AUTOTASK_DEFAULT", "QBO_DEFAULT", "QBO_AU", "QBO_MANUAL"]
        assert json.loads(conns["QBO_AU"].strip("'"))["extra"]["realm_id"] == AU_REALM_ID
    finally:
        process.terminate()
        process.wait(timeout=10)
