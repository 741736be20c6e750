"""The billing entities the sandbox serves: invoices and their lines (BillingItems), billing codes,
contracts, payment terms, currencies and the tax tables (TaxRegions, TaxCategories, Taxes).

A data table, like ``sandbox.autotask.entities`` (which registers these): field names and types
from the vendor swagger's models in camelCase (docs/api-facts.md 1.9), verbs from its paths (1.8),
"Fields that cannot be queried" from the entity pages (AT-HELP). With multi-currency, amounts on
invoices and billing items are in the customer's currency and the ``internalCurrency*`` fields
in the tenant's own; the sandbox stores what the seed says and computes neither.
"""

from __future__ import annotations

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

# Invoices are written by Autotask's own invoicing; the API may only set these (docs/sandbox.md).
INVOICE_WRITABLE = ("comments", "paidDate", "webServiceDate", "invoiceNumber")

INVOICES = EntitySpec(
    "Invoices",
    "Invoice",
    field_table(
        integer("batchID", read_only=True),
        text("comments", 1000),
        integer("companyID", read_only=True, reference="Companies"),
        date_time("createDateTime", read_only=True),
        integer("creatorResourceID", read_only=True, reference="Resources"),
        # The InvoicesEntity page lists dueDate (and taxRegionID, which no Invoice model has)
        # under "Fields that cannot be queried".
        date_time("dueDate", read_only=True, queryable=False, documented_not_queryable=True),
        date_time("fromDate", read_only=True),
        date_time("invoiceDateTime", read_only=True),
        integer("invoiceEditorTemplateID", read_only=True),
        text("invoiceNumber", 50),
        double("invoiceTotal", read_only=True),
        boolean("isVoided", read_only=True),
        text("orderNumber", 20, read_only=True),
        date_time("paidDate", date_only=True),
        integer("paymentTerm", read_only=True, picklist=PAYMENT_TERM_PICKLIST),
        integer("taxGroup", read_only=True),
        text("taxRegionName", 200, read_only=True),
        date_time("toDate", read_only=True),
        double("totalTaxValue", read_only=True),
        integer("voidedByResourceID", read_only=True, reference="Resources"),
        date_time("voidedDate", read_only=True),
        date_time("webServiceDate"),
    ),
    can_update=True,
    seed_required=("companyID",),
)

BILLING_ITEMS = EntitySpec(
    "BillingItems",
    "BillingItem",
    field_table(
        integer("accountManagerWhenApprovedID", read_only=True, reference="Resources"),
        integer("billingCodeID", read_only=True, reference="BillingCodes"),
        integer("billingItemType", read_only=True, picklist="billingItemType"),
        integer("companyID", read_only=True, reference="Companies"),
        integer("configurationItemID", read_only=True),
        integer("contractChargeID", read_only=True),
        integer("contractID", read_only=True, reference="Contracts"),  # set: work covered by a contract
        text("description", 8000, read_only=True),
        integer("expenseItemID", read_only=True),
        double("extendedPrice", read_only=True),
        double("internalCurrencyExtendedPrice", read_only=True),
        double("internalCurrencyRate", read_only=True),
        double("internalCurrencyTaxDollars", read_only=True),
        double("internalCurrencyTotalAmount", read_only=True),
        integer("invoiceID", read_only=True, reference="Invoices"),
        integer("itemApproverID", read_only=True, reference="Resources"),
        date_time("itemDate", read_only=True),
        text("itemName", 255, read_only=True),
        text("lineItemFullDescription", 8000, read_only=True, documented_not_queryable=True),
        text("lineItemGroupDescription", 255, read_only=True, documented_not_queryable=True),
        integer("lineItemID", read_only=True),
        integer("milestoneID", read_only=True),
        integer("nonBillable", read_only=True),  # non-zero: shown on the invoice at 0
        integer("organizationalLevelAssociationID", read_only=True, reference="OrganizationalLevelAssociations"),
        double("ourCost", read_only=True),
        date_time("postedDate", read_only=True),
        date_time("postedOnTime", read_only=True),
        integer("projectChargeID", read_only=True),
        integer("projectID", read_only=True),
        text("purchaseOrderNumber", 50),
        double("quantity", read_only=True),
        double("rate", read_only=True),
        integer("roleID", read_only=True),
        integer("serviceBundleID", read_only=True),
        integer("serviceID", read_only=True),
        integer("subType", read_only=True, picklist="billingItemSubType"),
        integer("taskID", read_only=True),
        double("taxDollars", read_only=True),
        integer("ticketChargeID", read_only=True),
        integer("ticketID", read_only=True),
        integer("timeEntryID", read_only=True),
        double("totalAmount", read_only=True),
        integer("vendorID", read_only=True, reference="Companies"),
        date_time("webServiceDate"),
    ),
    can_update=True,
    line_of_business_secured=True,
)

BILLING_CODES = EntitySpec(
    "BillingCodes",
    "BillingCode",
    field_table(
        integer("afterHoursWorkType", read_only=True),
        integer("billingCodeType", read_only=True, picklist="billingCodeType"),
        integer("department", read_only=True),
        text("description", 500, read_only=True),
        text("externalNumber", 100, read_only=True),
        text("generalLedgerAccount", 20, read_only=True),
        boolean("isActive", read_only=True),
        boolean("isExcludedFromNewContracts", read_only=True),
        double("markupRate", read_only=True),
        text("name", 200, read_only=True),
        integer("taxCategoryID", read_only=True, reference="TaxCategories"),
        double("unitCost", read_only=True),
        double("unitPrice", read_only=True),
        integer("useType", read_only=True, picklist="billingCodeUseType"),
    ),
    seed_required=("name",),
)

PAYMENT_TERMS = EntitySpec(
    "PaymentTerms",
    "PaymentTerm",
    field_table(
        text("description", 500),
        boolean("isActive"),
        text("name", 100, required=True),
        integer("paymentDueInDays"),
    ),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

CURRENCIES = EntitySpec(
    "Currencies",
    "Currency",
    field_table(
        text("currencyNegativeFormat", 50),
        text("currencyPositiveFormat", 50),
        text("description", 100),
        text("displaySymbol", 10),
        double("exchangeRate"),
        boolean("isActive"),
        boolean("isInternalCurrency", read_only=True),
        date_time("lastModifiedDateTime", read_only=True),
        text("name", 3, read_only=True),
        integer("updateResourceId", read_only=True, reference="Resources"),
    ),
    can_update=True,
    seed_required=("name",),
)


# Contracts (ContractModel): what a billing item's ``contractID`` points at. Work covered by a
# block-hour, retainer or recurring-service contract is billed below rate x quantity.
CONTRACTS = EntitySpec(
    "Contracts",
    "Contract",
    field_table(
        integer("billingPreference"),
        integer("billToCompanyContactID"),
        integer("billToCompanyID", reference="Companies"),
        integer("companyID", required=True, reference="Companies"),
        integer("contactID"),
        text("contactName", 250, read_only=True),
        integer("contractCategory"),
        integer("contractExclusionSetID"),
        text("contractName", 100, required=True),
        text("contractNumber", 50),
        integer("contractPeriodType"),
        integer("contractType", required=True, picklist="contractType"),
        text("description", 2000),
        date_time("endDate", required=True),
        double("estimatedCost"),
        double("estimatedHours"),
        double("estimatedRevenue"),
        integer("exclusionContractID"),
        double("internalCurrencyOverageBillingRate", read_only=True),
        double("internalCurrencySetupFee", read_only=True),
        boolean("isCompliant", read_only=True),
        boolean("isDefaultContract"),
        integer("opportunityID"),
        integer("organizationalLevelAssociationID", reference="OrganizationalLevelAssociations"),
        double("overageBillingRate"),
        text("purchaseOrderNumber", 50),
        integer("renewedContractID"),
        integer("serviceLevelAgreementID"),
        double("setupFee"),
        integer("setupFeeBillingCodeID", reference="BillingCodes"),
        date_time("startDate", required=True),
        integer("status", required=True, picklist="contractStatus"),
        integer("timeReportingRequiresStartAndStopTimes"),
    ),
    can_create=True,
    can_update=True,
    seed_required=("companyID", "contractName", "contractType"),
    line_of_business_secured=True,
)

# The tax tables (TaxRegionModel, TaxCategoryModel, TaxModel; AT-HELP TaxesEntity): a company's
# taxRegionID and a billing code's taxCategoryID select the Taxes rows that apply.
TAX_REGIONS = EntitySpec(
    "TaxRegions",
    "TaxRegion",
    field_table(boolean("isActive"), text("name", 200, required=True)),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

TAX_CATEGORIES = EntitySpec(
    "TaxCategories",
    "TaxCategory",
    field_table(boolean("isActive"), text("description", 200), text("name", 200, required=True)),
    can_create=True,
    can_update=True,
    seed_required=("name",),
)

TAXES = EntitySpec(
    "Taxes",
    "Tax",
    field_table(
        boolean("isCompounded"),
        integer("taxCategoryID", required=True, reference="TaxCategories"),
        text("taxName", 100, required=True),
        double("taxRate", required=True),  # a percentage: 13 for Ontario HST
        integer("taxRegionID", required=True, reference="TaxRegions"),
    ),
    can_create=True,
    can_update=True,
    seed_required=("taxRegionID", "taxCategoryID", "taxName", "taxRate"),
)
