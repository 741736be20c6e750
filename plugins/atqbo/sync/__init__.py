"""One module per sync flow: invoices, voids, payments, purchase orders, tools."""
