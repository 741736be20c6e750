"""``GET {Entity}/entityInformation`` and its ``fields`` and ``userDefinedFields``: how a client of a
real tenant learns an entity's verbs (and the caller's access to them), field types, flags and
picklist values (the tenant's own: the payment term picklists list its PaymentTerms records, the
fixed ones its seeded labels and ``isActive``). A tenant that refuses the documented unqueryable
fields reports them with ``isQueryable`` false.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.autotask.access import Caller
from sandbox.autotask.entities import ENTITIES
from sandbox.autotask.responses import no_resource, not_allowed
from sandbox.autotask.schema import PAYMENT_TERM_PICKLIST, EntitySpec, FieldSpec
from sandbox.autotask.tenant import Tenant
from sandbox.core import Request, Response


def entity_information(tenant: Tenant, req: Request, spec: EntitySpec, rest: list[str], caller: Caller) -> Response:
    """Readable whatever the caller's security level: it is how a client learns its access."""
    if req.method != "GET":
        return not_allowed(req.method)
    if not rest:
        return Response.json(200, {"info": _entity_info(spec, caller)})
    if rest == ["fields"]:
        with tenant.lock:
            terms = sorted(tenant.tables["PaymentTerms"].values(), key=lambda r: r["id"])
            strict = tenant.settings["refuse_unqueryable_fields"]
            fields = [_field_info(f, terms, tenant.picklist, strict) for f in spec.fields.values()]
        return Response.json(200, {"fields": fields})
    if rest == ["userdefinedfields"]:
        with tenant.lock:
            names: dict[str, str] = {}
            for record in tenant.tables[spec.name].values():
                for udf in record.get("userDefinedFields") or []:
                    names.setdefault(udf["name"].lower(), udf["name"])
        return Response.json(200, {"fields": [_udf_info(name) for name in sorted(names.values())]})
    return no_resource(req)


def _entity_info(spec: EntitySpec, caller: Caller) -> dict[str, Any]:
    """The entity's verbs (``can*``) and the caller's access to each (``userAccessFor*``: "None"
    where the entity lacks the verb or the caller's security level denies it, else "All")."""

    def access(verb: str, capable: bool) -> str:
        return "All" if capable and caller.may(verb, spec) else "None"

    return {
        "name": spec.label,
        "canCreate": spec.can_create,
        "canDelete": spec.can_delete_via_parent,
        "canQuery": True,
        "canUpdate": spec.can_update,
        "userAccessForCreate": access("create", spec.can_create),
        "userAccessForDelete": "All" if spec.can_delete_via_parent else "None",
        "userAccessForQuery": access("query", True),
        "userAccessForUpdate": access("update", spec.can_update),
        "hasUserDefinedFields": True,
        "supportsWebhookCallouts": spec.name in ("Companies", "Products"),
    }


def _udf_info(name: str) -> dict[str, Any]:
    """A user-defined field present on the entity's records (UDFs are stored as text)."""
    return {
        "name": name,
        "label": name,
        "type": "string",
        "length": 8000,
        "isRequired": False,
        "isReadOnly": False,
        "isQueryable": True,
        "isReference": False,
        "isPickList": False,
        "picklistValues": None,
        "isActive": True,
        "isSupportedWebhookField": False,
    }


def _field_info(
    field: FieldSpec,
    payment_terms: list[dict[str, Any]],
    picklist: Callable[[str], list[dict[str, Any]]],
    strict: bool,
) -> dict[str, Any]:
    values = None
    if field.picklist == PAYMENT_TERM_PICKLIST:
        values = [
            {
                "value": str(term["id"]),
                "label": term.get("name") or "",
                "isDefaultValue": False,
                "sortOrder": index,
                "parentValue": "",
                "isActive": bool(term.get("isActive")),
                "isSystem": False,
            }
            for index, term in enumerate(payment_terms, start=1)
        ]
    elif field.picklist:
        values = [
            {
                "value": str(value["value"]),
                "label": value["label"],
                "isDefaultValue": index == 1,
                "sortOrder": index,
                "parentValue": "",
                "isActive": value["isActive"],
                "isSystem": True,
            }
            for index, value in enumerate(picklist(field.picklist), start=1)
        ]
    reference = ENTITIES[field.reference].label if field.reference else ""
    return {
        "name": field.name,
        "dataType": field.data_type,
        "length": field.length if field.data_type == "string" else 0,
        "isRequired": field.required,
        "isReadOnly": field.read_only,
        "isQueryable": field.queryable and not (strict and field.documented_not_queryable),
        "isReference": field.reference is not None,
        "referenceEntityType": reference,
        "isPickList": field.picklist is not None,
        "picklistValues": values,
        "picklistParentValueField": "",
        "isSupportedWebhookField": False,
    }
