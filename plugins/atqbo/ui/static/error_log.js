// The error log's Retry buttons: POST api/errors/<id>/retry (relative to /atqbo/, signed in by the
// Airflow UI's _token cookie) and show what was done. Text only (textContent), never HTML.
"use strict";

(function () {
  const status = document.getElementById("status");

  function show(kind, text) {
    status.className = "status " + kind;
    status.textContent = text;
    status.hidden = false;
  }

  // Ledger timestamps are ISO UTC text ("2026-01-31T12:00:00.000000Z"); shown as the page shows them.
  function shownTime(ts) {
    return ts ? ts.slice(0, 10) + " " + ts.slice(11, 19) + " UTC" : "";
  }

  function problemText(response, body) {
    if (body && body.error) {
      return body.error + (body.fix ? ". Fix: " + body.fix : "");
    }
    if (body && typeof body.detail === "string") {
      return body.detail + " (HTTP " + response.status + ")";
    }
    return "the server answered HTTP " + response.status;
  }

  async function retry(button) {
    const id = button.dataset.errorId;
    const row = button.closest("tr");
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Retrying…";
    let response;
    let body = null;
    try {
      response = await fetch("api/errors/" + encodeURIComponent(id) + "/retry", {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      body = await response.json().catch(() => null);
    } catch (err) {
      show("error", "Retry of entry " + id + " failed: the Airflow API server could not be reached (" + err + ").");
      button.disabled = false;
      button.textContent = label;
      return;
    }
    if (response.ok && body) {
      row.classList.add("retry-requested");
      row.querySelector(".retry-state").textContent = "yes, " + shownTime(body.retry_requested_at);
      button.textContent = "Retry requested";
      button.classList.add("done");
      show("ok", "Retry requested: " + body.message + ".");
      return;
    }
    show("error", "Retry of entry " + id + " not done: " + problemText(response, body));
    button.disabled = false;
    button.textContent = label;
  }

  document.querySelectorAll("button.retry").forEach((button) => {
    button.addEventListener("click", () => retry(button));
  });
})();
