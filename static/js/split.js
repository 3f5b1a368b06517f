// The split editor (templates/splits/split.html): a live total and what is left to give, a
// Remove button on each participant, and the first problem focused and scrolled into view
// after a refused save. Without this script the form still works: blank rows are ignored.
(function () {
  "use strict";
  var form = document.querySelector("[data-split-editor]");
  if (!form) {
    return;
  }
  var totalLine = form.querySelector("[data-split-total]");
  // The page's words and number marks (data-texts, in the reader's language).
  var texts = JSON.parse(form.getAttribute("data-texts") || "{}");
  function say(key, values) {
    return (texts[key] || "").replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name];
    });
  }

  // "33.33", "33,33" or "50 %" as basis points (integers: no float touches a share); NaN when
  // it is not a number with at most two decimals. Mirrors marketplace.formatting.parse_percent.
  function basisPoints(text) {
    var raw = text.trim().replace(/%$/, "").trim();
    if (raw.indexOf(",") !== -1 && raw.indexOf(".") === -1) {
      raw = raw.replace(",", ".");
    }
    var match = /^(\d+)(?:\.(\d{0,2}))?$/.exec(raw);
    if (!match) {
      return NaN;
    }
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }

  function percentText(bps) {
    var whole = Math.floor(bps / 100);
    var cents = bps % 100;
    var decimal = texts.decimal || ".";
    return whole + (cents ? decimal + (cents < 10 ? "0" : "") + cents : "") +
      (texts.percent_suffix || "%");
  }

  function shareInputs() {
    return Array.prototype.slice.call(form.querySelectorAll("input[name$='-share']"));
  }

  function updateTotal() {
    var total = 0;
    var unreadable = 0;
    shareInputs().forEach(function (input) {
      if (input.value.trim() === "") {
        return;
      }
      var bps = basisPoints(input.value);
      if (isNaN(bps)) {
        unreadable += 1;
      } else {
        total += bps;
      }
    });
    var text;
    if (total === 10000) {
      text = say("complete", { total: percentText(total) });
    } else if (total < 10000) {
      text = say("left", { total: percentText(total), rest: percentText(10000 - total) });
    } else {
      text = say("over", { total: percentText(total), rest: percentText(total - 10000) });
    }
    if (unreadable) {
      text += " " + (unreadable === 1 ? say("unreadable_one", {}) :
        say("unreadable_many", { count: unreadable }));
    }
    totalLine.textContent = text;
    totalLine.hidden = false;
    totalLine.classList.toggle("ok", total === 10000 && !unreadable);
  }

  function renumber() {
    form.querySelectorAll("[data-split-row]").forEach(function (row, index) {
      row.querySelector("legend").textContent = say("participant", { index: index + 1 });
      var hidden = row.querySelector("[data-remove] .visually-hidden");
      if (hidden) {
        hidden.textContent = " " + say("remove_whom", { index: index + 1 });
      }
    });
  }

  function addRemoveButton(row) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary";
    button.setAttribute("data-remove", "");
    button.appendChild(document.createTextNode(say("remove", {})));
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    button.appendChild(hidden);
    button.addEventListener("click", function () {
      var rows = Array.prototype.slice.call(form.querySelectorAll("[data-split-row]"));
      var next = rows[rows.indexOf(row) + 1] || rows[rows.indexOf(row) - 1];
      row.parentNode.removeChild(row);
      renumber();
      updateTotal();
      var target = next && next.isConnected ? next.querySelector("input, select") : null;
      (target || form.querySelector("button[name='add_row'], input[name='add_row']")).focus();
    });
    row.appendChild(button);
  }

  form.querySelectorAll("[data-split-row]").forEach(addRemoveButton);
  renumber();
  form.addEventListener("input", function (event) {
    if (event.target.name && /-share$/.test(event.target.name)) {
      updateTotal();
    }
  });
  updateTotal();

  var problem = form.querySelector("[data-first-error], [aria-invalid='true']");
  if (problem) {
    problem.scrollIntoView({ block: "center" });
    problem.focus({ preventScroll: true });
  }
})();
