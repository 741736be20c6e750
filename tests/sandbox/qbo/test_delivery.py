"""What a QBO customer receives, over real HTTP: the invoice PDF and the email of invoice/send."""

from __future__ import annotations

from tests.sandbox.qbo_support import invoice_of


def test_invoice_pdf_and_send(fresh_sandbox, qbo, books):
    invoice = invoice_of(qbo, books, 10, DocNumber="INV-PDF")
    pdf = qbo.call("GET", f"invoice/{invoice['Id']}/pdf", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and b"INV-PDF" in pdf.content
    fresh_sandbox.mail.clear()
    sent = qbo.call("POST", f"invoice/{invoice['Id']}/send", params={"sendTo": "billing@contoso.example"})
    assert sent.json()["Invoice"]["EmailStatus"] == "EmailSent"
    assert sent.json()["Invoice"]["BillEmail"] == {"Address": "billing@contoso.example"}
    (mail,) = fresh_sandbox.mail.messages()
    assert mail["to"] == "billing@contoso.example" and "INV-PDF" in mail["subject"]
    assert mail["attachments"][0]["filename"] == "Invoice_INV-PDF.pdf"
