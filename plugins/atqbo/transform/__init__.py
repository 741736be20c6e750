"""Pure transforms: Autotask records and settings in, QBO payloads out."""
