"""The public python-quickbooks library (with Intuit's own intuitlib for OAuth) against the sandbox.

The only changes from production use are where the libraries look: intuitlib's AuthClient takes
the sandbox's OpenID discovery document (an ``environment`` that is a URL is fetched as the
discovery document, a feature of intuitlib), and the QuickBooks client's production API URL is
pointed at the sandbox. ``OAUTHLIB_INSECURE_TRANSPORT`` lets requests-oauthlib talk plain HTTP on
loopback. If one of these tests fails, the sandbox is unfaithful (or the library is wrong about
the real API, which the README section says where it is).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import AuthorizationException, ObjectNotFoundException, QuickbooksException
from quickbooks.objects.base import Ref
from quickbooks.objects.companycurrency import CompanyCurrency
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.exchangerate import ExchangeRate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate

from sandbox.qbo import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REALM_ID, DEFAULT_REFRESH_TOKEN
from sandbox.qbo.times import PACIFIC
from tests.sandbox.qbo.tax_support import profile_seed


@pytest.fixture
def auth_client(fresh_sandbox, monkeypatch) -> AuthClient:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client = AuthClient(
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        redirect_uri="http://localhost/callback",
        environment=fresh_sandbox.base_url + "/.well-known/openid_configuration/",
        refresh_token=DEFAULT_REFRESH_TOKEN,
        realm_id=DEFAULT_REALM_ID,
    )
    assert client.token_endpoint == fresh_sandbox.base_url + "/oauth2/v1/tokens/bearer"
    return client


@pytest.fixture
def qb(fresh_sandbox, auth_client) -> QuickBooks:
    client = QuickBooks(
        auth_client=auth_client,
        refresh_token=DEFAULT_REFRESH_TOKEN,
        company_id=DEFAULT_REALM_ID,
        minorversion=75,
    )
    client.api_url_v3 = fresh_sandbox.base_url + "/v3"  # the production URL, pointed at the sandbox
    return client


def new_customer(qb: QuickBooks, name: str) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    customer.CompanyName = name
    return customer.save(qb=qb)


def new_item(qb: QuickBooks, name: str, price: float) -> Item:
    item = Item()
    item.Name = name
    item.Type = "Service"
    item.UnitPrice = price
    income = Ref()
    income.value = "1"
    item.IncomeAccountRef = income
    return item.save(qb=qb)


def new_invoice(
    qb: QuickBooks, customer: Customer, item: Item, qty: int, doc_number: str, tax_code: str | None = None
) -> Invoice:
    detail = SalesItemLineDetail()
    if tax_code is not None:
        detail.TaxCodeRef = Ref()
        detail.TaxCodeRef.value = tax_code
    detail.ItemRef = item.to_ref()
    detail.Qty = qty
    detail.UnitPrice = item.UnitPrice
    line = SalesItemLine()
    line.Amount = qty * item.UnitPrice
    line.Description = f"{item.Name} x{qty}"
    line.SalesItemLineDetail = detail
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.DocNumber = doc_number
    invoice.Line.append(line)
    return invoice.save(qb=qb)


def test_intuitlib_refresh_rotates_the_refresh_token_on_intuits_schedule(auth_client, fresh_sandbox):
    auth_client.refresh()
    first = auth_client.refresh_token
    assert first != DEFAULT_REFRESH_TOKEN
    assert auth_client.access_token and auth_client.expires_in == 3600
    assert auth_client.x_refresh_token_expires_in > 3600

    auth_client.refresh(refresh_token=DEFAULT_REFRESH_TOKEN)  # superseded, alive for a day
    assert auth_client.refresh_token == first
    auth_client.refresh(refresh_token=first)  # younger than a day: the same token
    assert auth_client.refresh_token == first

    fresh_sandbox.set_limits({"qbo": {"refresh_token_rotation_s": 0, "previous_refresh_token_s": 0}})
    auth_client.refresh(refresh_token=first)
    assert auth_client.refresh_token != first
    with pytest.raises(AuthClientError) as dead:
        auth_client.refresh(refresh_token=first)
    assert dead.value.status_code == 400
    assert "invalid_grant" in dead.value.content.decode()


def test_intuitlib_revoke_ends_the_connection(auth_client):
    auth_client.refresh()
    assert auth_client.revoke() is True
    with pytest.raises(AuthClientError) as dead:
        auth_client.refresh()
    assert dead.value.status_code == 400


def test_create_customer_item_and_invoice_with_server_computed_totals(qb):
    customer = new_customer(qb, "Contoso Dental")
    assert customer.Id and customer.SyncToken == "0"
    item = new_item(qb, "Managed Services", 120)
    invoice = new_invoice(qb, customer, item, 10, "INV-10421")

    assert invoice.TotalAmt == 1200.0 and invoice.Balance == 1200.0
    assert invoice.CustomerRef.name == "Contoso Dental"
    read = Invoice.get(invoice.Id, qb=qb)
    assert read.DocNumber == "INV-10421"
    assert read.Line[0].SalesItemLineDetail.ItemRef.name == "Managed Services"
    assert Customer.get(customer.Id, qb=qb).Balance == 1200.0


def test_filter_where_choose_count_and_paging(qb):
    names = [f"Client {n:02d}" for n in range(1, 26)] + ["O'Brien Plumbing"]
    result = batch_create([_unsaved_customer(n) for n in names], qb=qb)
    assert not result.faults and len(result.successes) == 26

    assert [c.DisplayName for c in Customer.filter(DisplayName="O'Brien Plumbing", qb=qb)] == ["O'Brien Plumbing"]
    assert len(Customer.filter(Active=True, qb=qb)) == 26
    assert Customer.count(qb=qb) == 26
    assert Customer.count("DisplayName LIKE 'Client 1%'", qb=qb) == 10

    first = Customer.all(start_position=1, max_results=10, qb=qb)
    second = Customer.all(start_position=11, max_results=10, qb=qb)
    third = Customer.all(start_position=21, max_results=10, qb=qb)
    paged = [c.Id for c in first + second + third]
    assert len(first) == 10 and len(second) == 10 and len(third) == 6
    assert len(set(paged)) == 26

    by_name = Customer.where("DisplayName LIKE 'Client%'", order_by="DisplayName DESC", max_results=3, qb=qb)
    assert [c.DisplayName for c in by_name] == ["Client 25", "Client 24", "Client 23"]
    chosen = Customer.choose(["Client 03", "O'Brien Plumbing"], field="DisplayName", qb=qb)
    assert sorted(c.DisplayName for c in chosen) == ["Client 03", "O'Brien Plumbing"]
    # Item.all() asks for "SELECT *, Sku FROM Item"
    new_item(qb, "Remote Support", 125)
    assert [i.Name for i in Item.all(qb=qb)] == ["Remote Support"]


def _unsaved_customer(name: str) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    return customer


def test_update_uses_sync_token_and_a_stale_copy_is_refused(qb):
    customer = new_customer(qb, "Fabrikam Legal LLP")
    stale = Customer.get(customer.Id, qb=qb)
    fresh = Customer.get(customer.Id, qb=qb)
    fresh.Notes = "Key account"
    updated = fresh.save(qb=qb)
    assert updated.SyncToken == "1" and updated.Notes == "Key account"

    stale.Notes = "An edit made on an old copy"
    with pytest.raises(QuickbooksException) as refused:
        stale.save(qb=qb)
    assert refused.value.error_code == 5010
    assert Customer.get(customer.Id, qb=qb).Notes == "Key account"


def test_void_invoice_zeroes_it(qb):
    customer = new_customer(qb, "Northwind Traders")
    item = new_item(qb, "Project Labor", 140)
    invoice = new_invoice(qb, customer, item, 3, "INV-3")
    invoice.void(qb=qb)

    voided = Invoice.get(invoice.Id, qb=qb)
    assert voided.TotalAmt == 0 and voided.Balance == 0
    assert voided.PrivateNote.startswith("Voided")
    assert all(line.Amount == 0 for line in voided.Line)
    assert int(voided.SyncToken) == int(invoice.SyncToken) + 1


def test_payment_reduces_the_invoice_balance_and_delete_removes_it(qb):
    customer = new_customer(qb, "Litware Inc")
    item = new_item(qb, "Backup", 99)
    invoice = new_invoice(qb, customer, item, 2, "INV-7")
    line = PaymentLine()
    line.Amount = 50
    line.LinkedTxn.append(invoice.to_linked_txn())
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = 50
    payment.Line.append(line)
    payment = payment.save(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 148.0

    payment.delete(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).Balance == 198.0
    with pytest.raises(ObjectNotFoundException):
        Payment.get(payment.Id, qb=qb)


def test_batch_create_reports_per_item_faults(qb):
    new_customer(qb, "Tailspin Toys")
    batch = [_unsaved_customer("Tailspin Toys"), _unsaved_customer("Wide World Importers")]
    result = batch_create(batch, qb=qb)
    assert [c.DisplayName for c in result.successes] == ["Wide World Importers"]
    assert len(result.faults) == 1
    assert result.faults[0].Error[0].code == "6240"
    assert result.faults[0].original_object.DisplayName == "Tailspin Toys"


def test_change_data_capture(qb):
    since = datetime.now(PACIFIC) - timedelta(minutes=5)
    customer = new_customer(qb, "Coho Winery")
    item = new_item(qb, "Onsite Support", 150)
    invoice = new_invoice(qb, customer, item, 1, "INV-9")
    invoice.delete(qb=qb)

    changes = change_data_capture([Invoice, Customer], since.isoformat(timespec="seconds"), qb=qb)
    assert [c.DisplayName for c in changes.Customer] == ["Coho Winery"]
    assert [(i.Id, i.status) for i in changes.Invoice] == [(invoice.Id, "Deleted")]


def test_library_sees_an_expired_session_as_authorization_failure(qb, fresh_sandbox):
    fresh_sandbox.seed({"qbo": {"oauth": {"revoke": True}}})
    with pytest.raises(AuthorizationException) as denied:
        Customer.all(qb=qb)
    assert denied.value.error_code == 401


def test_a_uk_company_through_the_library_tax_codes_rates_and_a_vat_invoice(qb, fresh_sandbox):
    fresh_sandbox.seed(profile_seed("uk-vat"))
    assert [c.Name for c in TaxCode.all(qb=qb)] == ["20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"]
    standard = TaxCode.get("1", qb=qb)
    assert standard.SalesTaxRateList.TaxRateDetail[0].TaxRateRef.value == "1"
    assert TaxRate.get("1", qb=qb).RateValue == 20
    customer = Customer.get("1", qb=qb)
    item = Item.get("1", qb=qb)  # Managed Services, 45.00

    with pytest.raises(QuickbooksException) as refused:
        new_invoice(qb, customer, item, 10, "TV-1")
    assert refused.value.error_code == 6000
    assert "Make sure all your transactions have a VAT rate before you save." in refused.value.detail

    invoice = new_invoice(qb, customer, item, 10, "TV-1", tax_code="1")  # 450.00 + 20% VAT
    assert (invoice.TxnTaxDetail.TotalTax, invoice.TotalAmt) == (90, 540)


def test_a_multi_currency_company_through_the_library_currencies_and_rates(qb, fresh_sandbox):
    fresh_sandbox.seed(profile_seed("uk-vat", multi_currency=True))
    assert [c.Code for c in CompanyCurrency.all(qb=qb)] == ["EUR"]
    rates = ExchangeRate.filter(SourceCurrencyCode="EUR", qb=qb)
    assert [(r.AsOfDate, r.Rate, r.TargetCurrencyCode) for r in rates] == [("2024-05-01", 0.85, "GBP")]
