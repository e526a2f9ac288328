(function () {
  "use strict";
  // The results table: compact JSON (see conformance.report.case_table), filtered, sorted and
  // rendered a page at a time, so that 100,000 results open in about a second.
  var data = JSON.parse(document.getElementById("table-data").textContent);
  var body = document.querySelector("#case-table tbody");
  var text = document.getElementById("text-filter");
  var selects = Array.prototype.slice.call(document.querySelectorAll("#filters select"));
  var STATUS_CLASS = {pass: "pass", known_divergence: "known", unsupported: "uns"};
  // row layout: case, label, check, status, device, abs, ulp, mismatches, text, features, drill
  var COLUMN = {label: 1, check: 2, status: 3};
  var CASE_COLUMN = {op: 1, dtype: 2, family: 3};
  var order = data.rows.map(function (_, i) { return i; });
  var shown = order, page = 0;

  function values(key) {
    if (key === "feature") { return Object.keys(data.labels); }
    return data[key] || [];
  }
  // Options: the lookup lists' values; an option's value is the index (a feature: its name).
  selects.forEach(function (s) {
    var key = s.getAttribute("data-key");
    values(key).forEach(function (v, i) {
      var o = document.createElement("option");
      o.value = key === "feature" ? v : String(i);
      o.textContent = key === "feature" ? data.labels[v] : v;
      s.appendChild(o);
    });
  });

  function cell(tr, value, cls) {
    var td = document.createElement("td");
    td.textContent = value;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  function caseOf(row) { return data.cases[row[0]]; }
  function rowText(row) {
    var c = caseOf(row);
    return (c[0] + " " + c[4] + " " + data.text[row[8]]).toLowerCase();
  }
  function matches(row, filters, needle) {
    for (var i = 0; i < filters.length; i++) {
      var f = filters[i];
      if (f.key === "feature") {
        if ((" " + data.features[row[9]] + " ").indexOf(" " + f.value + " ") < 0) { return false; }
      } else if (f.key in COLUMN) {
        if (row[COLUMN[f.key]] !== f.value) { return false; }
      } else if (caseOf(row)[CASE_COLUMN[f.key]] !== f.value) { return false; }
    }
    return !needle || rowText(row).indexOf(needle) >= 0;
  }
  function apply() {
    var filters = selects.filter(function (s) { return s.value !== ""; }).map(function (s) {
      var k = s.getAttribute("data-key");
      return {key: k, value: k === "feature" ? s.value : +s.value};
    });
    var needle = text.value.toLowerCase();
    shown = order.filter(function (i) { return matches(data.rows[i], filters, needle); });
    page = 0;
    render();
  }
  function render() {
    var size = data.page, start = page * size, end = Math.min(shown.length, start + size);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) {
      var row = data.rows[shown[k]], c = caseOf(row), status = data.status[row[3]];
      var tr = document.createElement("tr");
      tr.className = STATUS_CLASS[status] || "fail";
      tr.title = "conformance show " + c[0] + " --backends " + data.label[row[1]].split(" ")[0];
      var first = cell(tr, "");
      if (row[10] >= 0) {
        var a = document.createElement("a");
        a.href = "#r" + row[10];
        a.textContent = c[0];
        first.appendChild(a);
      } else { first.textContent = c[0]; }
      cell(tr, data.label[row[1]]); cell(tr, data.check[row[2]]); cell(tr, status);
      cell(tr, data.op[c[1]]); cell(tr, data.dtype[c[2]]); cell(tr, data.family[c[3]]);
      cell(tr, c[4], "small"); cell(tr, row[5], "n"); cell(tr, row[6], "n");
      cell(tr, row[7] ? row[7] : "", "n"); cell(tr, data.text[row[8]], "small");
      frag.appendChild(tr);
    }
    body.textContent = "";
    body.appendChild(frag);
    document.getElementById("shown").textContent = shown.length ? ("results " + (start + 1) +
      "–" + end + " of " + shown.length + " shown (" + data.rows.length + " in all)") :
      ("no result of " + data.rows.length + " matches");
    document.getElementById("prev").disabled = page === 0;
    document.getElementById("next").disabled = end >= shown.length;
  }
  document.getElementById("prev").addEventListener("click", function () { page -= 1; render(); });
  document.getElementById("next").addEventListener("click", function () { page += 1; render(); });
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  text.addEventListener("input", apply);

  var SORT_KEYS = [
    function (r) { return caseOf(r)[0]; }, function (r) { return data.label[r[1]]; },
    function (r) { return data.check[r[2]]; }, function (r) { return data.status[r[3]]; },
    function (r) { return data.op[caseOf(r)[1]]; }, function (r) { return data.dtype[caseOf(r)[2]]; },
    function (r) { return data.family[caseOf(r)[3]]; }, function (r) { return caseOf(r)[4]; },
    function (r) { return parseFloat(r[5]); }, function (r) { return parseFloat(r[6]); },
    function (r) { return r[7]; }, function (r) { return data.text[r[8]]; }];
  document.querySelectorAll("#case-table th.sortable").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = SORT_KEYS[+th.getAttribute("data-col")], asc = th.getAttribute("data-asc") !== "1";
      th.setAttribute("data-asc", asc ? "1" : "0");
      order.sort(function (i, j) {
        var x = key(data.rows[i]), y = key(data.rows[j]), c;
        if (typeof x === "number" || typeof y === "number") {
          x = isNaN(x) ? -Infinity : x; y = isNaN(y) ? -Infinity : y; c = x - y;
        } else { c = String(x).localeCompare(String(y)); }
        return (asc ? c : -c) || i - j;
      });
      apply();
    });
  });

  // A link to a drill-down (digest example, map cell, table row) opens it.
  function open(id) {
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }
  function openTarget() { open(decodeURIComponent(location.hash.slice(1))); }
  document.addEventListener("click", function (ev) {  // also when the hash is already there
    var a = ev.target.closest && ev.target.closest("a[href^='#']");
    if (a) { open(a.getAttribute("href").slice(1)); }
  });
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // A map cell (outside its links) lists its results in the table.
  document.querySelectorAll("#map td[data-feature]").forEach(function (td) {
    td.addEventListener("click", function (ev) {
      if (ev.target.tagName === "A") { return; }
      selects.forEach(function (s) {
        var k = s.getAttribute("data-key");
        if (k === "feature") { s.value = td.getAttribute("data-feature"); }
        else if (k === "label") { s.value = String(data.label.indexOf(td.getAttribute("data-target"))); }
        else { s.value = ""; }
      });
      text.value = "";
      apply();
      document.getElementById("cases").scrollIntoView();
    });
  });
  apply();
})();
