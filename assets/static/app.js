// Genkan web UI: small progressive enhancements. Everything works without it.
"use strict";

// Live dashboard: refresh the lists every 5 seconds.
(function () {
  const root = document.querySelector("[data-live]");
  if (!root) return;
  const url = root.getAttribute("data-live");
  const columns = {
    expected: ["time", "name", "company", "host", "site", "state"],
    inside: ["time", "name", "company", "host", "site"],
    departed: ["time", "name", "company", "host", "site"],
  };
  function render(key, rows) {
    const body = document.querySelector('[data-rows="' + key + '"]');
    if (!body) return;
    const fresh = document.createDocumentFragment();
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const col of columns[key]) {
        const td = document.createElement("td");
        if (col === "name") {
          const a = document.createElement("a");
          a.href = row.href;
          a.textContent = row.name;
          td.appendChild(a);
        } else if (col === "state") {
          const span = document.createElement("span");
          span.className = "badge " + row.state;
          span.textContent = row.state_label;
          td.appendChild(span);
        } else {
          td.textContent = row[col];
        }
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    }
    body.replaceChildren(fresh);
    const count = document.querySelector('[data-count="' + key + '"]');
    if (count) count.textContent = String(rows.length);
  }
  async function refresh() {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const board = await response.json();
      for (const key of Object.keys(columns)) render(key, board[key]);
      for (const key of ["dead", "queued", "delivered_today", "acknowledged_today"]) {
        const stat = document.querySelector('[data-count="' + key + '"]');
        if (stat) stat.textContent = String(board[key]);
      }
    } catch (_) {
      /* offline for a moment: try again next time */
    }
  }
  setInterval(refresh, 5000);
})();

// Appointment form: add a visitor row without a round trip.
(function () {
  const button = document.querySelector("[data-add-visitor]");
  const list = document.querySelector("[data-visitors]");
  if (!button || !list) return;
  button.addEventListener("click", function (event) {
    const rows = list.querySelectorAll("[data-visitor-row]");
    if (rows.length >= 50) return;
    event.preventDefault();
    const copy = rows[rows.length - 1].cloneNode(true);
    for (const input of copy.querySelectorAll("input")) {
      input.value = "";
      input.removeAttribute("aria-invalid");
    }
    for (const err of copy.querySelectorAll(".field-error")) err.remove();
    list.appendChild(copy);
    copy.querySelector("input").focus();
  });
})();

// Print buttons.
for (const b of document.querySelectorAll("[data-print]")) {
  b.addEventListener("click", function () { window.print(); });
}

// Ask before destructive actions (forms with data-confirm).
for (const f of document.querySelectorAll("form[data-confirm]")) {
  f.addEventListener("submit", function (event) {
    if (!window.confirm(f.getAttribute("data-confirm"))) event.preventDefault();
  });
}
