"""The Autotask entities the sandbox serves: their real field names, types, and write rules.

Field lists follow the vendor swagger's definitions in camelCase (docs/api-facts.md 1.9); which
entities can be created or updated follows its verbs (docs/api-facts.md 1.8). Picklist values that
no source confirms are the sandbox's own and are served through entityInformation/fields,
the way a client for a real tenant must read them. A data table: one ``EntitySpec`` per entity.
"""

from __future__ import annotations

from sandbox.autotask.schema import PAYMENT_TERM_PICKLIST, EntitySpec, FieldSpec


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in (FieldSpec("id", "long", read_only=True), *specs)}


def _s(name: str, length: int = 100, **kw) -> FieldSpec:
    return FieldSpec(name, "string", length=length, **kw)


def _i(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "integer", **kw)


def _d(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "double", **kw)


def _b(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "boolean", **kw)


def _t(name: str, **kw) -> FieldSpec:
    return FieldSpec(name, "dateTime", **kw)


COMPANIES = EntitySpec(
    "Companies",
    "Company",
    _fields(
        _s("additionalAddressInformation"),
        _s("address1", 128),
        _s("address2", 128),
        _s("alternatePhone1", 25),
        _s("alternatePhone2", 25),
        _i("apiVendorID", read_only=True),
        _d("assetValue"),
        _i("billToCompanyLocationID"),
        _s("billToAdditionalAddressInformation"),
        _s("billingAddress1", 150),
        _s("billingAddress2", 150),
        _i("billToAddressToUse", picklist="billToAddressToUse"),
        _s("billToAttention", 50),
        _s("billToCity", 50),
        _i("billToCountryID"),
        _s("billToState", 128),
        _s("billToZipCode", 50),
        _s("city", 30),
        _i("classification"),
        _s("companyName", 100, required=True),
        _s("companyNumber", 50),
        _i("companyType", required=True, picklist="companyType"),
        _i("competitorID"),
        _i("countryID"),
        _t("createDate", read_only=True),
        _i("createdByResourceID", read_only=True, reference="Resources"),
        _i("currencyID", reference="Currencies"),
        _s("fax", 25),
        _i("impersonatorCreatorResourceID", read_only=True),
        _i("invoiceEmailMessageID"),
        _i("invoiceMethod"),
        _b("invoiceNonContractItemsToParentCompany"),
        _i("invoiceTemplateID"),
        _b("isActive"),
        _b("isClientPortalActive", read_only=True),
        _b("isEnabledForComanaged"),
        _b("isTaskFireActive", read_only=True),
        _b("isTaxExempt"),
        _t("lastActivityDate", read_only=True),
        _t("lastTrackedModifiedDateTime", read_only=True),
        _i("marketSegmentID"),
        _i("ownerResourceID", required=True, reference="Resources"),
        _i("parentCompanyID", reference="Companies"),
        _s("phone", 25, required=True),
        _s("postalCode", 10),
        _i("quoteEmailMessageID"),
        _i("quoteTemplateID"),
        _s("sicCode", 32),
        _s("state", 25),
        _s("stockMarket", 10),
        _s("stockSymbol", 10),
        _i("surveyCompanyRating", read_only=True),
        _s("taxID", 50),
        _i("taxRegionID"),
        _i("territoryID"),
        _s("webAddress", 255),
    ),
    can_create=True,
    can_update=True,
    seed_required=("companyName",),
)

# Invoices are written by Autotask's own invoicing; the API may only set these (docs/sandbox.md).
INVOICE_WRITABLE = ("comments", "paidDate", "webServiceDate", "invoiceNumber")

INVOICES = EntitySpec(
    "Invoices",
    "Invoice",
    _fields(
        _i("batchID", read_only=True),
        _s("comments", 1000),
        _i("companyID", read_only=True, reference="Companies"),
        _t("createDateTime", read_only=True),
        _i("creatorResourceID", read_only=True, reference="Resources"),
        _t("dueDate", read_only=True, queryable=False),
        _t("fromDate", read_only=True),
        _t("invoiceDateTime", read_only=True),
        _i("invoiceEditorTemplateID", read_only=True),
        _s("invoiceNumber", 50),
        _d("invoiceTotal", read_only=True),
        _b("isVoided", read_only=True),
        _s("orderNumber", 20, read_only=True),
        _t("paidDate", date_only=True),
        _i("paymentTerm", read_only=True, picklist=PAYMENT_TERM_PICKLIST),
        _i("taxGroup", read_only=True),
        _s("taxRegionName", 200, read_only=True),
        _t("toDate", read_only=True),
        _d("totalTaxValue", read_only=True),
        _i("voidedByResourceID", read_only=True, reference="Resources"),
        _t("voidedDate", read_only=True),
        _t("webServiceDate"),
    ),
    can_update=True,
    seed_required=("companyID",),
)

BILLING_ITEMS = EntitySpec(
    "BillingItems",
    "BillingItem",
    _fields(
        _i("accountManagerWhenApprovedID", read_only=True, reference="Resources"),
        _i("billingCodeID", read_only=True, reference="BillingCodes"),
        _i("billingItemType", read_only=True, picklist="billingItemType"),
        _i("companyID", read_only=True, reference="Companies"),
        _i("configurationItemID", read_only=True),
        _i("contractChargeID", read_only=True),
        _i("contractID", read_only=True),
        _s("description", 8000, read_only=True),
        _i("expenseItemID", read_only=True),
        _d("extendedPrice", read_only=True),
        _d("internalCurrencyExtendedPrice", read_only=True),
        _d("internalCurrencyRate", read_only=True),
        _d("internalCurrencyTaxDollars", read_only=True),
        _d("internalCurrencyTotalAmount", read_only=True),
        _i("invoiceID", read_only=True, reference="Invoices"),
        _i("itemApproverID", read_only=True, reference="Resources"),
        _t("itemDate", read_only=True),
        _s("itemName", 255, read_only=True),
        _s("lineItemFullDescription", 8000, read_only=True),
        _s("lineItemGroupDescription", 255, read_only=True),
        _i("lineItemID", read_only=True),
        _i("milestoneID", read_only=True),
        _i("nonBillable", read_only=True),
        _i("organizationalLevelAssociationID", read_only=True, reference="OrganizationalLevelAssociations"),
        _d("ourCost", read_only=True),
        _t("postedDate", read_only=True),
        _t("postedOnTime", read_only=True),
        _i("projectChargeID", read_only=True),
        _i("projectID", read_only=True),
        _s("purchaseOrderNumber", 50),
        _d("quantity", read_only=True),
        _d("rate", read_only=True),
        _i("roleID", read_only=True),
        _i("serviceBundleID", read_only=True),
        _i("serviceID", read_only=True),
        _i("subType", read_only=True, picklist="billingItemSubType"),
        _i("taskID", read_only=True),
        _d("taxDollars", read_only=True),
        _i("ticketChargeID", read_only=True),
        _i("ticketID", read_only=True),
        _i("timeEntryID", read_only=True),
        _d("totalAmount", read_only=True),
        _i("vendorID", read_only=True, reference="Companies"),
        _t("webServiceDate"),
    ),
    can_update=True,
)

BILLING_CODES = EntitySpec(
    "BillingCodes",
    "BillingCode",
    _fields(
        _i("afterHoursWorkType", read_only=True),
        _i("billingCodeType", read_only=True, picklist="billingCodeType"),
        _i("department", read_only=True),
        _s("description", 500, read_only=True),
        _s("externalNumber", 100, read_only=True),
        _s("generalLedgerAccount", 20, read_only=True),
        _b("isActive", read_only=True),
        _b("isExcludedFromNewContracts", read_only=True),
        _d("markupRate", read_only=True),
        _s("name", 200, read_only=True),
        _i("taxCategoryID", read_only=True),
        _d("unitCost", read_only=True),
        _d("unitPrice", read_only=True),
        _i("useType", read_only=True, picklist="billingCodeUseType"),
    ),
    seed_required=("name",),
)

PURCHASE_ORDERS = EntitySpec(
    "PurchaseOrders",
    "PurchaseOrder",
    _fields(
        _t("cancelDateTime", read_only=True),
        _t("createDateTime", read_only=True),
        _i("creatorResourceID", read_only=True, reference="Resources"),
        _s("externalPONumber", 50),
        _s("fax", 25),
        _d("freight"),
        _s("generalMemo", 4000),
        _i("impersonatorCreatorResourceID", read_only=True),
        _d("internalCurrencyFreight", read_only=True),
        _t("latestEstimatedArrivalDate", read_only=True),
        _i("paymentTerm", picklist=PAYMENT_TERM_PICKLIST),
        _s("phone", 25),
        _i("purchaseForCompanyID", reference="Companies"),
        _t("shippingDate"),
        _i("shippingType", picklist="shippingType"),
        _s("shipToAddress1", 128),
        _s("shipToAddress2", 128),
        _s("shipToCity", 30),
        _s("shipToName", 100),
        _s("shipToPostalCode", 10),
        _s("shipToState", 25),
        _b("showEachTaxInGroup"),
        _b("showTaxCategory"),
        _i("status", required=True, picklist="purchaseOrderStatus"),
        _t("submitDateTime", read_only=True),
        _i("taxRegionID"),
        _i("useItemDescriptionsFrom"),
        _i("vendorID", required=True, reference="Companies"),
        _s("vendorInvoiceNumber", 50),
    ),
    can_create=True,
    can_update=True,
    seed_required=("vendorID",),
)

PURCHASE_ORDER_ITEMS = EntitySpec(
    "PurchaseOrderItems",
    "PurchaseOrderItem",
    _fields(
        _i("chargeID"),
        _i("contractID"),
        _t("estimatedArrivalDate"),
        _d("internalCurrencyUnitCost", read_only=True),
        _i("inventoryLocationID"),
        _s("memo", 4000),
        _i("orderID", read_only=True, reference="PurchaseOrders"),
        _i("productID", required=True, reference="Products"),
        _i("projectID"),
        _i("quantity", required=True),
        _i("salesOrderID"),
        _i("ticketID"),
        _d("unitCost", required=True),
    ),
    can_create=True,
    can_update=True,
    parent=("PurchaseOrders", "Items", "orderID"),
    seed_required=("orderID", "productID"),
)

PRODUCTS = EntitySpec(
    "Products",
    "Product",
    _fields(
        _i("billingType"),
        _i("chargeBillingCodeID", reference="BillingCodes"),
        _i("defaultVendorID", reference="Companies"),
        _s("description", 8000),
        _b("doesNotRequireProcurement"),
        _s("externalProductID", 50),
        _i("impersonatorCreatorResourceID", read_only=True),
        _s("internalProductID", 100),
        _b("isActive"),
        _b("isEligibleForRma"),
        _b("isSerialized"),
        _s("link", 500),
        _s("manufacturerName", 100),
        _s("manufacturerProductName", 100),
        _d("markupRate"),
        _d("msrp"),
        _s("name", 100, required=True),
        _i("periodType"),
        _i("priceCostMethod"),
        _i("productBillingCodeID", required=True, reference="BillingCodes"),
        _i("productCategory"),
        _s("sku", 50),
        _d("unitCost"),
        _d("unitPrice"),
        _s("vendorProductNumber", 50),
    ),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

COMPANY_TODOS = EntitySpec(
    "CompanyToDos",
    "CompanyToDo",
    _fields(
        _i("actionType", required=True),
        _s("activityDescription", 32000),
        _i("assignedToResourceID", required=True, reference="Resources"),
        _i("companyID", read_only=True, reference="Companies"),
        _t("completedDate"),
        _i("contactID"),
        _i("contractID"),
        _t("createDateTime", read_only=True),
        _i("creatorResourceID", read_only=True, reference="Resources"),
        _t("endDateTime", required=True),
        _i("impersonatorCreatorResourceID", read_only=True),
        _t("lastModifiedDate", read_only=True),
        _i("opportunityID"),
        _t("startDateTime", required=True),
        _i("ticketID"),
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
    _fields(
        _s("accountingReferenceID", 100),
        _s("dateFormat", 20),
        _i("defaultServiceDeskRoleID"),
        _s("email", 254),
        _s("email2", 254),
        _s("email3", 254),
        _s("emailTypeCode", 10),
        _s("firstName", 50),
        _s("gender", 1),
        _i("greeting"),
        _t("hireDate"),
        _s("homePhone", 25),
        _s("initials", 3),
        _d("internalCost"),
        _b("isActive"),
        _s("lastName", 50),
        _i("licenseType", read_only=True),
        _i("locationID"),
        _s("middleName", 50),
        _s("mobilePhone", 25),
        _s("numberFormat", 20),
        _s("officeExtension", 10),
        _s("officePhone", 25),
        _i("payrollType"),
        _s("resourceType", 15, read_only=True),
        _i("suffix"),
        _i("surveyResourceRating", read_only=True),
        _s("timeFormat", 20),
        _s("title", 50),
        _i("travelAvailabilityPct"),
        _s("userName", 32, read_only=True),
        _s("userType", 50, read_only=True),
    ),
    can_update=True,
)

PAYMENT_TERMS = EntitySpec(
    "PaymentTerms",
    "PaymentTerm",
    _fields(
        _s("description", 500),
        _b("isActive"),
        _s("name", 100, required=True),
        _i("paymentDueInDays"),
    ),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

CURRENCIES = EntitySpec(
    "Currencies",
    "Currency",
    _fields(
        _s("currencyNegativeFormat", 50),
        _s("currencyPositiveFormat", 50),
        _s("description", 100),
        _s("displaySymbol", 10),
        _d("exchangeRate"),
        _b("isActive"),
        _b("isInternalCurrency", read_only=True),
        _t("lastModifiedDateTime", read_only=True),
        _s("name", 3, read_only=True),
        _i("updateResourceId", read_only=True, reference="Resources"),
    ),
    can_update=True,
    seed_required=("name",),
)

ORGANIZATIONAL_LEVEL_1S = EntitySpec(
    "OrganizationalLevel1s",
    "OrganizationalLevel1",
    _fields(_s("name", 100, required=True), _s("description", 500), _b("isActive")),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

ORGANIZATIONAL_LEVEL_2S = EntitySpec(
    "OrganizationalLevel2s",
    "OrganizationalLevel2",
    _fields(_s("name", 100, required=True), _s("description", 500), _b("isActive")),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

ORGANIZATIONAL_LEVEL_ASSOCIATIONS = EntitySpec(
    "OrganizationalLevelAssociations",
    "OrganizationalLevelAssociation",
    _fields(
        _b("isActive"),
        _i("organizationalLevel1ID", required=True, reference="OrganizationalLevel1s"),
        _i("organizationalLevel2ID", required=True, reference="OrganizationalLevel2s"),
    ),
    can_create=True,
    can_update=True,
    seed_required=("organizationalLevel1ID", "organizationalLevel2ID"),
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
        BILLING_CODES,
        COMPANIES,
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
