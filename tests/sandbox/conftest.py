"""Fixtures for the sandbox's own tests: one live sandbox per session, reset per test on request.

Shared by the Autotask and QBO emulator tests. ``sandbox`` is the running server (real HTTP on
a free loopback port, SMTP part on); ``fresh_sandbox`` is the same server after ``reset()``.
``autotask`` is a small plain-``requests`` client of the Autotask emulator that discovers its
zone the way a real client does (``tests.sandbox.autotask_support``); ``qbo`` the same for the QBO
emulator (``tests.sandbox.qbo_support``), and ``books`` a customer, vendor and items to build
QBO transactions on.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.server import Sandbox
from tests.net_support import free_port
from tests.sandbox.autotask_support import AutotaskClient
from tests.sandbox.qbo_support import QboClient


@pytest.fixture(scope="session")
def sandbox():
    server = Sandbox(port=0, smtp_port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_sandbox(sandbox):
    sandbox.reset()
    return sandbox


@pytest.fixture
def autotask(fresh_sandbox) -> AutotaskClient:
    return AutotaskClient(fresh_sandbox)


@pytest.fixture
def autotask_client() -> type[AutotaskClient]:
    """The client class, for clients with other credentials or of another sandbox."""
    return AutotaskClient


@pytest.fixture
def qbo(fresh_sandbox) -> QboClient:
    return QboClient(fresh_sandbox.base_url)


@pytest.fixture
def books(qbo) -> dict[str, Any]:
    """A customer, a vendor and a sellable + purchasable item to build transactions on."""
    return {
        "customer": qbo.customer("Contoso Dental", PrimaryEmailAddr={"Address": "ap@contoso.example"}),
        "vendor": qbo.create("Vendor", {"DisplayName": "Ingram Micro"}),
        "item": qbo.service_item("Managed Services", 120),
        "product": qbo.create(
            "Item",
            {
                "Name": "APC Back-UPS 1500",
                "Type": "NonInventory",
                "UnitPrice": 240,
                "PurchaseCost": 189,
                "Taxable": True,
                "IncomeAccountRef": {"value": "2"},
                "ExpenseAccountRef": {"value": "3"},
            },
        ),
    }
