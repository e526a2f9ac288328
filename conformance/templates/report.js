(function () {
  var table = document.getElementById("cases");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var selects = document.querySelectorAll("#filters select");
  var text = document.getElementById("text-filter");
  function apply() {
    var shown = 0, needle = text.value.toLowerCase();
    rows.forEach(function (row) {
      var ok = true;
      selects.forEach(function (s) {
        if (s.value && row.getAttribute("data-" + s.getAttribute("data-key")) !== s.value) { ok = false; }
      });
      if (ok && needle && row.textContent.toLowerCase().indexOf(needle) < 0) { ok = false; }
      row.style.display = ok ? "" : "none";
      if (ok) { shown += 1; }
    });
    document.getElementById("shown").textContent = shown + " of " + rows.length + " results shown";
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  table.querySelectorAll("th.sortable").forEach(function (th) {
    th.addEventListener("click", function () {
      var col = +th.getAttribute("data-col"), asc = th.getAttribute("data-asc") !== "1";
      th.setAttribute("data-asc", asc ? "1" : "0");
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (row) { table.tBodies[0].appendChild(row); });
    });
  });
  apply();
})();
