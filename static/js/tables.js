// Money tables on phones: each table inside a .table-wrap with a header row becomes a stack of
// cards below 40rem (see .stacked in app.css), every cell labelled with its column's header, so
// no amount hides off to the right. The roles keep the table's semantics for screen readers
// when CSS turns its rows into blocks. Without this script the wrapper scrolls sideways instead.
(function () {
  "use strict";
  document.querySelectorAll(".table-wrap > table").forEach(function (table) {
    var headRow = table.tHead && table.tHead.rows[0];
    if (!headRow) {
      return;
    }
    var labels = [];
    Array.prototype.forEach.call(headRow.cells, function (cell) {
      for (var i = 0; i < (cell.colSpan || 1); i += 1) {
        labels.push(cell.textContent.trim());
      }
    });
    table.classList.add("stacked");
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll("thead, tbody, tfoot"), function (group) {
      group.setAttribute("role", "rowgroup");
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var inHead = row.parentNode === table.tHead;
        if (cell.tagName === "TH") {
          cell.setAttribute("role", inHead ? "columnheader" : "rowheader");
        } else {
          cell.setAttribute("role", "cell");
        }
        if (!inHead && labels[column] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", labels[column]);
        }
        column += cell.colSpan || 1;
      });
    });
  });
})();
