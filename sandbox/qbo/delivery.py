"""What a customer receives from QBO: the invoice PDF (``invoice/{id}/pdf``) and, for
``invoice/{id}/send``, the email with it attached, put in the sandbox's mailbox when the SMTP part
runs so that a test can read what the customer got.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from sandbox.mail import MailServer
from sandbox.qbo.values import ref_value


def deliver_invoice(mailbox: MailServer | None, company_info: dict[str, Any], invoice: dict[str, Any]) -> None:
    """Put the email QBO sends for ``invoice/{id}/send`` in ``mailbox`` (when the SMTP part runs),
    PDF attached."""
    if mailbox is None:
        return
    company = company_info.get("CompanyName", "QuickBooks")
    number = invoice.get("DocNumber") or invoice["Id"]
    message = EmailMessage()
    message["From"] = f"{company} <quickbooks@notification.intuit.com>"
    message["To"] = invoice["BillEmail"]["Address"]
    message["Subject"] = f"Invoice {number} from {company}"
    message.set_content(
        f"Dear {invoice['CustomerRef'].get('name', 'customer')},\n\n"
        f"Here's your invoice! We appreciate your prompt payment.\n\n"
        f"Invoice {number}: {invoice.get('Balance', 0):.2f} {ref_value(invoice.get('CurrencyRef')) or ''} "
        f"due {invoice.get('DueDate', '')}.\n\n{company}\n"
    )
    message.add_attachment(
        invoice_pdf(invoice), maintype="application", subtype="pdf", filename=f"Invoice_{number}.pdf"
    )
    mailbox.add("quickbooks@notification.intuit.com", [message["To"]], message.as_bytes())


def invoice_pdf(invoice: dict[str, Any]) -> bytes:
    """A small, valid one-page PDF naming the invoice (enough for attachment tests)."""
    text = f"Invoice {invoice.get('DocNumber') or invoice['Id']}  Total {invoice.get('TotalAmt', 0):.2f}"
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
