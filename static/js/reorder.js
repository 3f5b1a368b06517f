// Reordering a series' episodes: drag a row by its handle (pointer events, so a finger works as
// well as a mouse), or focus the handle and press the arrow keys; Enter (or the Save button)
// sends the new order. Without JavaScript the up and down buttons do the same, one step each.
(function () {
  "use strict";

  var form = document.querySelector("form[data-reorder]");
  var list = document.querySelector("ul.episodes");
  if (!form || !list) { return; }
  var orderInput = form.querySelector("input[name=order]");
  var status = form.querySelector(".reorder-status");
  var save = form.querySelector("[data-reorder-save]");
  var original = orderInput.value;
  var messages = {};
  var holder = document.getElementById("upload-messages");
  if (holder) {
    try { messages = JSON.parse(holder.dataset.messages); } catch (ignored) { messages = {}; }
  }
  function t(key, fallback, values) {
    var text = messages[key] || fallback;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(values[name]));
    });
    return text;
  }

  form.hidden = false;
  list.querySelectorAll("[data-drag-handle]").forEach(function (handle) { handle.hidden = false; });

  function rows() { return Array.prototype.slice.call(list.querySelectorAll("li[data-episode-id]")); }

  function order() { return rows().map(function (li) { return li.dataset.episodeId; }).join(","); }

  function changed(item) {
    orderInput.value = order();
    var dirty = orderInput.value !== original;
    save.hidden = !dirty;
    if (item) {
      status.textContent = t("position", "%(title)s is now at position %(position)s of %(count)s.", {
        title: item.dataset.episodeTitle, position: rows().indexOf(item) + 1, count: rows().length
      }) + (dirty ? " " + t("press_enter", "Press Enter or Save the new order.") : "");
    }
  }

  list.addEventListener("keydown", function (event) {
    var handle = event.target.closest && event.target.closest("[data-drag-handle]");
    if (!handle) { return; }
    var item = handle.closest("li");
    if (event.key === "ArrowUp" && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling);
    } else if (event.key === "ArrowDown" && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item);
    } else if (event.key === "Enter" && orderInput.value !== original) {
      event.preventDefault();
      form.submit();
      return;
    } else {
      return;
    }
    event.preventDefault();
    handle.focus();
    changed(item);
  });

  var dragged = null;

  list.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest("[data-drag-handle]");
    if (!handle || event.button > 0) { return; }
    dragged = handle.closest("li");
    dragged.classList.add("dragging");
    handle.setPointerCapture(event.pointerId);
    event.preventDefault();
  });

  list.addEventListener("pointermove", function (event) {
    if (!dragged) { return; }
    var over = rows().find(function (li) {
      var box = li.getBoundingClientRect();
      return li !== dragged && event.clientY >= box.top && event.clientY <= box.bottom;
    });
    if (!over) { return; }
    var box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY < box.top + box.height / 2 ? over : over.nextElementSibling);
  });

  function drop() {
    if (!dragged) { return; }
    var item = dragged;
    dragged = null;
    item.classList.remove("dragging");
    changed(item);
    if (orderInput.value !== original) { form.submit(); }
  }

  list.addEventListener("pointerup", drop);
  list.addEventListener("pointercancel", drop);
})();
