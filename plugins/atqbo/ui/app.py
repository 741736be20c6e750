"""The error-log app the Airflow API server mounts under ``/atqbo`` (TOOL-08).

Routes (relative to the mount):

- ``GET /errors``: the page: open errors (entity, Autotask id, message, fix, time, attempts, retry
  requested?) with a Retry button each, and the last run of each DAG with its counts; a "QBO
  company" column when the install has several QBO companies (BEY-07, ``show_qbo_company``);
- ``GET /api/errors?entity=&since=&include_resolved=&qbo_company=``: the same entries as JSON (the
  query the ``atqbo_retry_errors`` DAG runs: ``atqbo.tools.errors.entries.select_entries``), each
  with its ``qbo_company`` (None when not known); ``qbo_company`` keeps one QBO company's entries
  (one of the install's connections or a company the log names; the page offers them as a filter
  when there are several);
- ``GET /api/runs?dag_id=&limit=``: the run history with each run's counts;
- ``POST /api/errors/{id}/retry``: re-queue one entry (``atqbo.ui.retry``).

Every route depends on Airflow's own auth (``requires_access_dag``): the JWT from a Bearer header or
the UI's ``_token`` cookie, then the auth manager's permission on the ``atqbo_retry_errors`` DAG's
runs: reading them to see the log, triggering one to retry. The cookie is SameSite=Lax, so another
site cannot post a retry with it (Airflow's own API relies on the same). A settings or database
problem is a 503 with ``error`` and ``fix`` (JSON) or a message on the page, never a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from atqbo.ledger import Ledger
from atqbo.records import ENTITIES
from atqbo.settings import Settings
from atqbo.tools.errors.entries import (
    ALL,
    UnknownCompany,
    chosen_company,
    known_companies,
    select_entries,
    since_datetime,
)
from atqbo.tools.errors.retry import NEXT_RUN, needs_marker_cleared
from atqbo.ui.paths import PAGE_PATH
from atqbo.ui.retry import RETRY_DAG_ID, retry_error
from atqbo.ui.state import Unavailable, ViewProblem, read_settings, state_db

HERE = Path(__file__).resolve().parent
STATIC = {"error_log.css": "text/css", "error_log.js": "text/javascript"}
RUNS_SCANNED = 200  # run-history rows read to find each DAG's latest run for the page

# Reading the error log = reading the retry tool's runs; retrying = triggering one.
can_read = Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=RETRY_DAG_ID))
can_retry = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=RETRY_DAG_ID))

# The page's own scripts and styles only, and only inside Airflow's pages.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True, undefined=jinja2.StrictUndefined
)


class BadFilter(ViewProblem):
    """A query filter the view cannot use."""

    status = 422


@dataclass(frozen=True)
class Filters:
    entity: str | None
    since: datetime | None
    include_resolved: bool
    qbo_company: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "since": self.since.isoformat() if self.since else None,
            "include_resolved": self.include_resolved,
            "qbo_company": self.qbo_company,
        }


def parse_filters(
    entity: str | None, since: str | None, include_resolved: bool, qbo_company: str | None = None
) -> Filters:
    """The query's filters checked, with a message naming the bad one and what it allows."""
    entity = (entity or "").strip() or None
    if entity == ALL:  # as the atqbo_retry_errors form says it
        entity = None
    if entity is not None and entity not in ENTITIES:
        raise BadFilter(
            f"entity: {entity!r} is not one of {', '.join(ENTITIES)}", f"pick one of them, or {ALL!r} (or none) for all"
        )
    since_at = None
    if since and since.strip():
        text = since.strip()
        try:
            since_at = datetime.fromisoformat(text)
        except ValueError:
            raise BadFilter(
                f"since: {text!r} is not a date", "give it as YYYY-MM-DD (or an ISO date and time)"
            ) from None
        if len(text) == 10:  # a day, as the retry DAG's form gives it: from its start
            since_at = since_datetime(since_at.date())
        elif since_at.tzinfo is None:
            since_at = since_at.replace(tzinfo=UTC)
    company = (qbo_company or "").strip() or None
    return Filters(entity, since_at, include_resolved, None if company == ALL else company)


def query_errors(ledger: Ledger, filters: Filters, settings: Settings) -> list[dict[str, Any]]:
    """Open entries: the retry DAG's own query; with resolved ones: the ledger's full list. A
    company filter must name a company the install or the log knows (the retry DAG's rule)."""
    try:
        company = chosen_company(filters.qbo_company, ledger, settings)
    except UnknownCompany as exc:
        raise BadFilter(exc.problem, exc.fix) from None
    if filters.include_resolved:
        return ledger.list_errors(
            entity=filters.entity, since=filters.since, include_resolved=True, qbo_company=company
        )
    return select_entries(ledger, entity=filters.entity, since=filters.since, qbo_company=company)


def company_filter_shown(companies: list[str]) -> bool:
    """The page's company filter: when there is more than one company to pick (BEY-07)."""
    return len(companies) > 1


def entry_json(entry: dict[str, Any], settings: Settings) -> dict[str, Any]:
    retryable = not entry.get("resolved_at") and entry.get("autotask_id") is not None
    return {**entry, "retryable": retryable, "clears_marker": retryable and needs_marker_cleared(entry, settings)}


def show_qbo_company(entries: list[dict[str, Any]], settings: Settings) -> bool:
    """The page's "QBO company" column (BEY-07): when an entry names a company and the install has
    several (``qbo_routes``), or the entries name several (routes since removed). A single-company
    install's page stays as it was."""
    companies = {e["qbo_company"] for e in entries if e.get("qbo_company")}
    return bool(companies) and (len(settings.qbo_conn_ids) > 1 or len(companies) > 1)


def latest_run_per_dag(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first (newest) run of each DAG in a newest-first list, DAGs in alphabetical order."""
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:
        latest.setdefault(run["dag_id"], run)
    return [latest[dag_id] for dag_id in sorted(latest)]


def shown_time(ts: str | None) -> str:
    """A ledger timestamp (ISO UTC text) as people read it."""
    return f"{ts[:10]} {ts[11:19]} UTC" if ts else ""


def shown_counts(counts: dict[str, Any]) -> str:
    return " · ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "nothing to do"


def create_app() -> FastAPI:
    # No /docs or /openapi.json: they would be unprotected, and Swagger UI loads from a CDN.
    app = FastAPI(title="atqbo error log", docs_url=None, redoc_url=None, openapi_url=None)
    add_error_handlers(app)
    app.include_router(router)
    return app


def add_error_handlers(app: FastAPI) -> None:
    """A settings or database problem, a refused retry and a bad filter as JSON with the fix; a
    refused page as a page saying so."""

    @app.exception_handler(ViewProblem)
    async def _problem(request: Request, exc: ViewProblem) -> JSONResponse:
        return _error_json(exc.status, exc.message, exc.fix)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.endswith(PAGE_PATH) and exc.status_code in (401, 403):
            html = _templates.get_template("denied.html").render(status=exc.status_code)
            return HTMLResponse(html, status_code=exc.status_code, headers=PAGE_HEADERS)
        return await http_exception_handler(request, exc)


router = APIRouter()


@router.get("/api/errors", dependencies=[can_read])
def api_errors(
    entity: str | None = None, since: str | None = None, include_resolved: bool = False, qbo_company: str | None = None
) -> dict:
    """Error-log entries, newest first: open ones, or all with include_resolved; of one QBO company."""
    filters = parse_filters(entity, since, include_resolved, qbo_company)
    settings = read_settings()
    with state_db(settings) as db:
        entries = db.run(lambda ledger: query_errors(ledger, filters, settings))
    return {"errors": [entry_json(e, settings) for e in entries], "total": len(entries), "filters": filters.to_json()}


@router.get("/api/runs", dependencies=[can_read])
def api_runs(dag_id: str | None = None, limit: int = Query(20, ge=1, le=RUNS_SCANNED)) -> dict:
    """The latest finished runs (all atqbo DAGs, or one), newest first, with their counts."""
    with state_db(read_settings()) as db:
        runs = db.run(lambda ledger: ledger.list_runs(dag_id=dag_id or None, limit=limit))
    return {"runs": runs, "total": len(runs)}


@router.post("/api/errors/{error_id}/retry", dependencies=[can_retry])
def api_retry(error_id: int, user: GetUserDep) -> dict:
    """Re-queue one entry now; trigger atqbo_retry_errors when its Autotask ERROR marker must be cleared."""
    settings = read_settings()
    with state_db(settings) as db:
        done = db.run(lambda ledger: retry_error(ledger, settings, error_id, user.get_name()))
    return done.to_json()


@router.get(PAGE_PATH, response_class=HTMLResponse, dependencies=[can_read])
def page(
    request: Request,
    user: GetUserDep,
    entity: str | None = None,
    since: str | None = None,
    include_resolved: str | None = None,
    qbo_company: str | None = None,
) -> HTMLResponse:
    """The error log page, rendered here (escaped by Jinja) with a small script for Retry."""
    show_resolved = (include_resolved or "").lower() in ("on", "true", "1", "yes")
    context: dict[str, Any] = {
        "entities": ENTITIES,
        "entity": (entity or "").strip(),
        "since": (since or "").strip(),
        "include_resolved": show_resolved,
        "qbo_company": (qbo_company or "").strip(),
        "companies": [],
        "problem": None,
        "entries": [],
        "runs": [],
        "can_retry": False,
        "retry_dag_id": RETRY_DAG_ID,
        "marker_field": "",
        "show_qbo_company": False,
    }
    status = 200
    try:
        filters = parse_filters(entity, since, show_resolved, qbo_company)
        settings = read_settings()
        context["marker_field"] = settings.invoice_marker_field
        context.update(page_content(filters, settings, user))
    except (Unavailable, BadFilter) as exc:
        status = exc.status
        context["problem"] = {"message": exc.message, "fix": exc.fix}
    html = _templates.get_template("error_log.html").render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def page_content(filters: Filters, settings: Settings, user: Any) -> dict[str, Any]:
    """What the page shows: the entries, each DAG's last run, whether this user may retry, and the
    companies to filter by when there are several."""
    with state_db(settings) as db:
        companies = db.run(lambda ledger: known_companies(ledger, settings))
        entries = db.run(lambda ledger: query_errors(ledger, filters, settings))
        runs = db.run(lambda ledger: ledger.list_runs(limit=RUNS_SCANNED))
    return {
        "companies": companies if company_filter_shown(companies) else [],
        "entries": [_page_row(entry_json(e, settings)) for e in entries],
        "show_qbo_company": show_qbo_company(entries, settings),
        "runs": [_page_run(r) for r in latest_run_per_dag(runs)],
        "can_retry": _may_retry(user),
    }


@router.get("/static/{name}", dependencies=[can_read])
def static(name: str) -> FileResponse:
    if name not in STATIC:
        raise StarletteHTTPException(404, "Not Found")
    return FileResponse(HERE / "static" / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})


def _error_json(status: int, message: str, fix: str) -> JSONResponse:
    return JSONResponse({"detail": f"{message}; {fix}", "error": message, "fix": fix}, status_code=status)


def _may_retry(user: Any) -> bool:
    """Whether to offer Retry buttons: the same permission the retry route checks."""
    from airflow.api_fastapi.app import get_auth_manager

    return bool(
        get_auth_manager().is_authorized_dag(
            method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=RETRY_DAG_ID), user=user
        )
    )


def _page_row(entry: dict[str, Any]) -> dict[str, Any]:
    source = " ".join(p for p in (entry.get("dag_id"), entry.get("run_id")) if p)
    return {
        **entry,
        "record": entry["autotask_id"] if entry["autotask_id"] is not None else "",
        "occurred": shown_time(entry["occurred_at"]),
        "retry_requested": shown_time(entry["retry_requested_at"]),
        "resolved": shown_time(entry["resolved_at"]),
        "source": source,
        "next_run": NEXT_RUN.get(entry["entity"], "the next run"),
    }


def _page_run(run: dict[str, Any]) -> dict[str, Any]:
    return {**run, "finished": shown_time(run["finished_at"]), "counts_text": shown_counts(run["counts"])}
