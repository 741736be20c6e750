"""The names of the built-in ``demo`` seed: a small but realistic MSP.

The names below are shared by both halves so that Autotask and QBO overlap the way a real
MSP's books do: some customers and items already exist in QBO, others must be created.
``demo_autotask.build`` and ``demo_qbo.build`` turn them into records (both deterministic, with
dates relative to ``today``); ``sandbox.seeds.build_demo_seed`` puts the two halves together.
"""

from __future__ import annotations

# (companyName, already a QBO customer?)
COMPANIES: list[tuple[str, bool]] = [
    ("Contoso Dental", True),
    ("Fabrikam Legal LLP", True),
    ("Northwind Traders", True),
    ("Adventure Works Cycles", True),
    ("Tailspin Toys", True),
    ("Wide World Importers", True),
    ("Litware Inc", True),
    ("Proseware Architects", True),
    ("Lucerne Publishing", True),
    ("Margie's Travel", True),
    ("Coho Winery", True),
    ("Alpine Ski House", True),
    ("Blue Yonder Airlines", False),
    ("City Power & Light", False),
    ("Consolidated Messenger", False),
    ("Graphic Design Institute", False),
    ("Humongous Insurance", False),
    ("Trey Research", False),
    ("Woodgrove Bank", False),
    ("Southridge Video", False),
    ("School of Fine Art", False),
    ("Relecloud", False),
    ("VanArsdel Ltd", False),
    ("Bellows College", False),
    ("Best For You Organics", False),
    ("First Up Consultants", False),
    ("Fourth Coffee", False),
    ("Nod Publishers", False),
    ("O'Brien & Sons: Plumbing", False),  # apostrophe and colon (QBO forbids ':' in names)
    ("Munson's Pickles and Preserves Farm", False),
]

# Vendors (Autotask companies of type Vendor) for purchase orders: (companyName, already a QBO vendor?)
VENDORS: list[tuple[str, bool]] = [
    ("Ingram Micro", True),
    ("TD Synnex", True),
    ("Dell Technologies", False),
    ("Pax8", False),
]

# Billing codes: (name, externalNumber, unitPrice, QBO item exists as: "name" | "external" | None)
BILLING_CODES: list[tuple[str, str | None, float, str | None]] = [
    ("Managed Services - Per Device", "MS-DEV", 45.00, "name"),
    ("Managed Services - Per User", "MS-USR", 65.00, "name"),
    ("Remote Support", "SUP-REM", 125.00, "name"),
    ("Onsite Support", "SUP-ONS", 150.00, "external"),
    ("After Hours Support", "SUP-AH", 195.00, "external"),
    ("Project Labor", "PRJ-LAB", 140.00, "name"),
    ("Backup & Disaster Recovery", "BDR-01", 99.00, "external"),
    ("Microsoft 365 Business Premium", "M365-BP", 22.00, None),
    ("Firewall Subscription", "FW-SUB", 35.00, None),
    ("Hardware - Workstation", "HW-WS", 1199.00, "name"),
    ("Hardware - Network Switch", "HW-SW", 649.00, None),
    ("Travel", None, 75.00, None),
]

# Autotask division (OrganizationalLevel1) -> lines of business (OrganizationalLevel2)
DIVISIONS: dict[str, list[str]] = {
    "Managed Services": ["Monitoring", "Helpdesk", "Security"],
    "Professional Services": ["Projects", "Hardware"],
}

# QBO classes that exist in the demo company; lines of business map onto them in settings.
QBO_CLASSES = ["Managed", "Projects", "Hardware Resale"]

# Payment terms: (Autotask name, exists in QBO with the same name?)
PAYMENT_TERMS: list[tuple[str, bool]] = [
    ("Net 30 Days", True),
    ("Net 15 Days", True),
    ("Due on Receipt", True),
    ("Net 45", False),
]

PRODUCTS: list[tuple[str, str, float, bool]] = [
    # (name, sku, unitCost, QBO item exists?)
    ("Dell OptiPlex 7020", "DELL-7020", 899.00, True),
    ("Ubiquiti Switch 24 PoE", "UBQ-USW24", 379.00, False),
    ("APC Back-UPS 1500", "APC-BX1500", 189.00, True),
    ("Logitech MX Keys", "LOG-MXK", 99.00, False),
]
