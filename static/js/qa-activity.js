// Refresh the QA console's SSO activity table every few seconds, without reloading the page.
(function () {
  "use strict";
  var table = document.getElementById("activity");
  if (!table) { return; }
  var body = table.querySelector("tbody");
  var columns = ["at", "action", "client", "user", "outcome", "error"];

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;  // textContent, never innerHTML: the values come from requests
    return td;
  }

  function render(rows) {
    var fresh = document.createElement("tbody");
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      columns.forEach(function (name) { tr.appendChild(cell(row[name] || "")); });
      var fields = Object.keys(row.detail || {}).map(function (k) { return k + "=" + row.detail[k]; });
      var detail = cell(fields.join(", "));
      detail.className = "mono";
      tr.appendChild(detail);
      fresh.appendChild(tr);
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = cell("Nothing yet.");
      td.colSpan = 7;
      tr.appendChild(td);
      fresh.appendChild(tr);
    }
    table.replaceChild(fresh, body);
    body = fresh;
  }

  function poll() {
    fetch(table.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(render)
      .catch(function () { /* keep the last rows; try again next time */ });
  }

  window.setInterval(poll, 3000);
})();
