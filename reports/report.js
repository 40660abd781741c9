/* pcap-dissect report: draw the charts, make the tables sortable and filterable. No external code. */
(function () {
  "use strict";
  var errors = window.__reportErrors = [];
  window.__reportReady = false;

  function drawCharts() {
    var nodes = document.querySelectorAll("script.figdata");
    var pending = [];
    var config = {displaylogo: false, responsive: true, showLink: false, sendData: false,
                  modeBarButtonsToRemove: ["sendDataToCloud"]};
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      try {
        var spec = JSON.parse(n.textContent);
        var el = document.getElementById(n.getAttribute("data-target"));
        if (spec.layout && spec.layout.height) { el.style.height = spec.layout.height + "px"; }
        pending.push(Plotly.newPlot(el, spec.data || [], spec.layout || {}, config));
      } catch (e) {
        errors.push("chart " + n.getAttribute("data-target") + ": " + e);
      }
    }
    Promise.all(pending).then(function () { window.__reportReady = true; },
      function (e) { errors.push(String(e)); window.__reportReady = true; });
  }

  function cellKey(td) {
    var v = td.getAttribute("data-v");
    return v === null ? null : parseFloat(v);
  }

  function sortTable(th) {
    var table = th.closest("table");
    var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = !th.classList.contains("asc");
    var ths = th.parentNode.children;
    for (var i = 0; i < ths.length; i++) { ths[i].classList.remove("asc", "desc"); }
    th.classList.add(asc ? "asc" : "desc");
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var numeric = rows.every(function (r) {
      var td = r.cells[idx];
      return !td || td.textContent === "" || td.getAttribute("data-v") !== null;
    });
    rows.sort(function (a, b) {
      var ca = a.cells[idx], cb = b.cells[idx], r;
      if (numeric) {
        var x = ca ? cellKey(ca) : null, y = cb ? cellKey(cb) : null;
        if (x === null && y === null) { r = 0; }
        else if (x === null) { return 1; }           /* empty cells last either way */
        else if (y === null) { return -1; }
        else { r = x - y; }
      } else {
        r = (ca ? ca.textContent : "").localeCompare(cb ? cb.textContent : "", undefined, {numeric: true});
      }
      return asc ? r : -r;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    tbody.appendChild(frag);
  }

  function filterTable(input) {
    var q = input.value.toLowerCase();
    var table = input.closest(".tblock").querySelector("table");
    var rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      rows[i].style.display = (!q || rows[i].textContent.toLowerCase().indexOf(q) >= 0) ? "" : "none";
    }
  }

  function wireTables() {
    document.querySelectorAll("table.dtable thead th").forEach(function (th) {
      th.addEventListener("click", function () { sortTable(th); });
    });
    document.querySelectorAll(".tblock input.tfilter").forEach(function (inp) {
      inp.addEventListener("input", function () { filterTable(inp); });
    });
  }

  function start() {
    try { wireTables(); } catch (e) { errors.push("tables: " + e); }
    if (typeof Plotly === "undefined") { errors.push("plotly.js missing"); window.__reportReady = true; return; }
    drawCharts();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
