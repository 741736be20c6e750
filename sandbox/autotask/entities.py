"""The Autotask entities the sandbox serves: their real field names, types, and write rules, and
the registry of all of them (``ENTITIES``, looked up by REST path segment).

Field lists follow the vendor swagger's definitions in camelCase (docs/api-facts.md 1.9); which
entities can be created or updated follows its verbs (docs/api-facts.md 1.8). Picklist values that
no source confirms are the sandbox's own and are served through entityInformation/fields,
the way a client for a real tenant must read them. A data table: one ``EntitySpec`` per entity;
this module holds the parties, the organization and purchasing, ``billing_entities`` the rest.
"""

from __future__ import annotations

from sandbox.autotask.billing_entities import (
    BILLING_CODES,
    BILLING_ITEMS,
    CONTRACTS,
    CURRENCIES,
    INVOICES,
    PAYMENT_TERMS,
    TAX_CATEGORIES,
    TAX_REGIONS,
    TAXES,
)
from sandbox.autotask.schema import (
    PAYMENT_TERM_PICKLIST,
    EntitySpec,
    boolean,
    date_time,
    double,
    field_table,
    integer,
    text,
)

COMPANIES = EntitySpec(
    "Companies",
    "Company",
    field_table(
        text("additionalAddressInformation"),
        text("address1", 128),
        text("address2", 128),
        text("alternatePhone1", 25),
        text("alternatePhone2", 25),
        integer("apiVendorID", read_only=True),
        double("assetValue"),
        integer("billToCompanyLocationID"),
        text("billToAdditionalAddressInformation"),
        text("billingAddress1", 150),
        text("billingAddress2", 150),
        integer("billToAddressToUse", picklist="billToAddressToUse"),
        text("billToAttention", 50),
        text("billToCity", 50),
        integer("billToCountryID"),
        text("billToState", 128),
        text("billToZipCode", 50),
        text("city", 30),
        integer("classification"),
        text("companyName", 100, required=True),
        text("companyNumber", 50),
        integer("companyType", required=True, picklist="companyType"),
        integer("competitorID"),
        integer("countryID"),
        date_time("createDate", read_only=True),
        integer("createdByResourceID", read_only=True, reference="Resources"),
        integer("currencyID", reference="Currencies"),
        text("fax", 25),
        integer("impersonatorCreatorResourceID", read_only=True),
        integer("invoiceEmailMessageID"),
        integer("invoiceMethod"),
        boolean("invoiceNonContractItemsToParentCompany"),
        integer("invoiceTemplateID"),
        boolean("isActive"),
        boolean("isClientPortalActive", read_only=True),
        boolean("isEnabledForComanaged"),
        boolean("isTaskFireActive", read_only=True),
        boolean("isTaxExempt"),
        date_time("lastActivityDate", read_only=True),
        date_time("lastTrackedModifiedDateTime", read_only=True),
        integer("marketSegmentID"),
        integer("ownerResourceID", required=True, reference="Resources"),
        integer("parentCompanyID", reference="Companies"),
        text("phone", 25, required=True),
        text("postalCode", 10),
        integer("quoteEmailMessageID"),
        integer("quoteTemplateID"),
        text("sicCode", 32),
        text("state", 25),
        text("stockMarket", 10),
        text("stockSymbol", 10),
        integer("surveyCompanyRating", read_only=True),
        text("taxID", 50),
        integer("taxRegionID", reference="TaxRegions"),
        integer("territoryID"),
        text("webAddress", 255),
    ),
    can_create=True,
    can_update=True,
    seed_required=("companyName",),
)

PURCHASE_ORDERS = EntitySpec(
    "PurchaseOrders",
    "PurchaseOrder",
    field_table(
        date_time("cancelDateTime", read_only=True),
        date_time("createDateTime", read_only=True),
        integer("creatorResourceID", read_only=True, reference="Resources"),
        text("externalPONumber", 50),
        text("fax", 25),
        double("freight"),
        text("generalMemo", 4000),
        integer("impersonatorCreatorResourceID", read_only=True),
        double("internalCurrencyFreight", read_only=True),
        date_time("latestEstimatedArrivalDate", read_only=True),
        integer("paymentTerm", picklist=PAYMENT_TERM_PICKLIST),
        text("phone", 25),
        integer("purchaseForCompanyID", reference="Companies"),
        date_time("shippingDate"),
        integer("shippingType", picklist="shippingType"),
        text("shipToAddress1", 128),
        text("shipToAddress2", 128),
        text("shipToCity", 30),
        text("shipToName", 100),
        text("shipToPostalCode", 10),
        text("shipToState", 25),
        boolean("showEachTaxInGroup"),
        boolean("showTaxCategory"),
        integer("status", required=True, picklist="purchaseOrderStatus"),
        date_time("submitDateTime", read_only=True),
        integer("taxRegionID", reference="TaxRegions"),
        integer("useItemDescriptionsFrom"),
        integer("vendorID", required=True, reference="Companies"),
        text("vendorInvoiceNumber", 50),
    ),
    can_create=True,
    can_update=True,
    seed_required=("vendorID",),
)

PURCHASE_ORDER_ITEMS = EntitySpec(
    "PurchaseOrderItems",
    "PurchaseOrderItem",
    field_table(
        integer("chargeID"),
        integer("contractID"),
        date_time("estimatedArrivalDate"),
        double("internalCurrencyUnitCost", read_only=True),
        integer("inventoryLocationID"),
        text("memo", 4000),
        integer("orderID", read_only=True, reference="PurchaseOrders"),
        integer("productID", required=True, reference="Products"),
        integer("projectID"),
        integer("quantity", required=True),
        integer("salesOrderID"),
        integer("ticketID"),
        double("unitCost", required=True),
    ),
    can_create=True,
    can_update=True,
    parent=("PurchaseOrders", "Items", "orderID"),
    seed_required=("orderID", "productID"),
)

PRODUCTS = EntitySpec(
    "Products",
    "Product",
    field_table(
        integer("billingType"),
        integer("chargeBillingCodeID", reference="BillingCodes"),
        integer("defaultVendorID", reference="Companies"),
        text("description", 8000),
        boolean("doesNotRequireProcurement"),
        text("externalProductID", 50),
        integer("impersonatorCreatorResourceID", read_only=True),
        text("internalProductID", 100),
        boolean("isActive"),
        boolean("isEligibleForRma"),
        boolean("isSerialized"),
        text("link", 500),
        text("manufacturerName", 100),
        text("manufacturerProductName", 100),
        double("markupRate"),
        double("msrp"),
        text("name", 100, required=True),
        integer("periodType"),
        integer("priceCostMethod"),
        integer("productBillingCodeID", required=True, reference="BillingCodes"),
        integer("productCategory"),
        text("sku", 50),
        double("unitCost"),
        double("unitPrice"),
        text("vendorProductNumber", 50),
    ),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

COMPANY_TODOS = EntitySpec(
    "CompanyToDos",
    "CompanyToDo",
    field_table(
        integer("actionType", required=True),
        text("activityDescription", 32000),
        integer("assignedToResourceID", required=True, reference="Resources"),
        integer("companyID", read_only=True, reference="Companies"),
        date_time("completedDate"),
        integer("contactID"),
        integer("contractID"),
        date_time("createDateTime", read_only=True),
        integer("creatorResourceID", read_only=True, reference="Resources"),
        date_time("endDateTime", required=True),
        integer("impersonatorCreatorResourceID", read_only=True),
        date_time("lastModifiedDate", read_only=True),
        integer("opportunityID"),
        date_time("startDateTime", required=True),
        integer("ticketID"),
    ),
    can_create=True,
    can_update=True,
    parent=("Companies", "ToDos", "companyID"),
    can_delete_via_parent=True,
    seed_required=("companyID",),
)

RESOURCES = EntitySpec(
    "Resources",
    "Resource",
    field_table(
        text("accountingReferenceID", 100),
        text("dateFormat", 20),
        integer("defaultServiceDeskRoleID"),
        text("email", 254),
        text("email2", 254),
        text("email3", 254),
        text("emailTypeCode", 10),
        text("firstName", 50),
        text("gender", 1),
        integer("greeting"),
        date_time("hireDate"),
        text("homePhone", 25),
        text("initials", 3),
        double("internalCost"),
        boolean("isActive"),
        text("lastName", 50),
        integer("licenseType", read_only=True),
        integer("locationID"),
        text("middleName", 50),
        text("mobilePhone", 25),
        text("numberFormat", 20),
        text("officeExtension", 10),
        text("officePhone", 25),
        integer("payrollType"),
        text("resourceType", 15, read_only=True),
        integer("suffix"),
        integer("surveyResourceRating", read_only=True),
        text("timeFormat", 20),
        text("title", 50),
        integer("travelAvailabilityPct"),
        text("userName", 32, read_only=True),
        text("userType", 50, read_only=True),
    ),
    can_update=True,
)

ORGANIZATIONAL_LEVEL_1S = EntitySpec(
    "OrganizationalLevel1s",
    "OrganizationalLevel1",
    field_table(text("name", 100, required=True), text("description", 500), boolean("isActive")),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

ORGANIZATIONAL_LEVEL_2S = EntitySpec(
    "OrganizationalLevel2s",
    "OrganizationalLevel2",
    field_table(text("name", 100, required=True), text("description", 500), boolean("isActive")),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

ORGANIZATIONAL_LEVEL_ASSOCIATIONS = EntitySpec(
    "OrganizationalLevelAssociations",
    "OrganizationalLevelAssociation",
    field_table(
        boolean("isActive"),
        integer("organizationalLevel1ID", required=True, reference="OrganizationalLevel1s"),
        integer("organizationalLevel2ID", required=True, reference="OrganizationalLevel2s"),
    ),
    can_create=True,
    can_update=True,
    seed_required=("organizationalLevel1ID", "organizationalLevel2ID"),
)

# A resource's lines of business (OrganizationalResourceModel; query only in the swagger). A
# resource with none sees every line of business; with one or more, only those (access.py).
ORGANIZATIONAL_RESOURCES = EntitySpec(
    "OrganizationalResources",
    "OrganizationalResource",
    field_table(
        integer(
            "organizationalLevelAssociationID",
            read_only=True,
            required=True,
            reference="OrganizationalLevelAssociations",
        ),
        integer("resourceID", read_only=True, required=True, reference="Resources"),
    ),
    seed_required=("organizationalLevelAssociationID", "resourceID"),
)

# In dependency order: a seed is validated and merged in this order, so references point back.
ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        RESOURCES,
        CURRENCIES,
        PAYMENT_TERMS,
        ORGANIZATIONAL_LEVEL_1S,
        ORGANIZATIONAL_LEVEL_2S,
        ORGANIZATIONAL_LEVEL_ASSOCIATIONS,
        ORGANIZATIONAL_RESOURCES,
        TAX_REGIONS,
        TAX_CATEGORIES,
        TAXES,
        BILLING_CODES,
        COMPANIES,
        CONTRACTS,
        PRODUCTS,
        INVOICES,
        BILLING_ITEMS,
        PURCHASE_ORDERS,
        PURCHASE_ORDER_ITEMS,
        COMPANY_TODOS,
    )
}

# Every writable entity gets isActive=true when a create or seed leaves it out.
DEFAULT_ACTIVE = "isActive"


def entity_named(name: str) -> EntitySpec | None:
    """The entity for a REST path segment, matched case-insensitively."""
    lowered = name.lower()
    for known, spec in ENTITIES.items():
        if known.lower() == lowered:
            return spec
    return None


def child_entity(parent: str, segment: str) -> EntitySpec | None:
    """The child entity written through ``/{parent}/{id}/{segment}``."""
    for spec in ENTITIES.values():
        if spec.parent and spec.parent[0] == parent and spec.parent[1].lower() == segment.lower():
            return spec
    return None
