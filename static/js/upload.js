// Episode uploads by XMLHttpRequest, so the browser can report progress: megabytes sent and
// time left, a Cancel button (the request is aborted; nothing is saved), and a warning before
// leaving the page while a file is on its way. Without JavaScript the form posts normally.
//
// Two uses: the episode form (form[data-upload]) and the bulk uploader on the series page
// ([data-bulk-upload]): many files queued, sent one at a time (so episode numbers follow the
// file order), each with its own progress bar and Cancel button.
(function () {
  "use strict";

  var active = 0; // uploads on their way: leaving the page would cancel them

  // Texts in the reader's language (templates/studio/_upload_messages.html), English without.
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

  window.addEventListener("beforeunload", function (event) {
    if (active > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function timeLeft(seconds) {
    if (!isFinite(seconds) || seconds < 0) { return ""; }
    seconds = Math.ceil(seconds);
    var time;
    var minutes = Math.floor(seconds / 60);
    if (seconds < 60) {
      time = seconds + " s";
    } else if (minutes < 60) {
      time = minutes + " min " + (seconds % 60) + " s";
    } else {
      time = Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
    }
    return t("left", "about %(time)s left", { time: time });
  }

  // "12.3 MB of 48.0 MB sent · about 20 s left" from a progress event and the start time.
  function progressText(e, started) {
    var text = t("sent", "%(sent)s of %(total)s sent", {
      sent: megabytes(e.loaded), total: megabytes(e.total)
    });
    var elapsed = (Date.now() - started) / 1000;
    if (e.loaded > 0 && elapsed > 0.5 && e.loaded < e.total) {
      var rate = e.loaded / elapsed;
      text += " · " + timeLeft((e.total - e.loaded) / rate);
    }
    return text;
  }

  // Send `data` to `url`; callbacks: progress(event), uploaded(), done(status, body), failed().
  function send(url, data, callbacks) {
    var xhr = new XMLHttpRequest();
    var started = Date.now();
    var finished = false;
    function finish() {
      if (!finished) { finished = true; active -= 1; }
    }
    xhr.open("POST", url);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { callbacks.progress(e, progressText(e, started)); }
    });
    xhr.upload.addEventListener("load", callbacks.uploaded);
    xhr.addEventListener("load", function () {
      finish();
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
      callbacks.done(xhr.status, body);
    });
    xhr.addEventListener("error", function () { finish(); callbacks.failed(); });
    xhr.addEventListener("abort", function () { finish(); callbacks.cancelled(); });
    active += 1;
    xhr.send(data);
    return xhr;
  }

  function errorMessage(status, body, maxSize) {
    if (body && body.error) { return body.error.message; }
    if (status === 413) {
      return t("too_large", "The file is larger than the %(limit)s limit.", { limit: maxSize });
    }
    return t("failed", "The upload failed (HTTP %(status)s). Please try again.", { status: status });
  }

  function setupForm(form) {
    var box = form.querySelector(".upload-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector("p");
    var cancel = box.querySelector("[data-cancel]");
    var errorBox = form.querySelector(".upload-error");
    var fileInput = form.querySelector("input[type=file]");
    var submit = form.querySelector("[type=submit]");
    var maxBytes = parseInt(form.dataset.maxBytes, 10);
    var xhr = null;

    function stop(message) {
      xhr = null;
      if (message) {
        errorBox.textContent = message;
        errorBox.hidden = false;
      }
      box.hidden = true;
      submit.disabled = false;
    }

    if (cancel) {
      cancel.addEventListener("click", function () {
        if (xhr) { xhr.abort(); }
      });
    }

    form.addEventListener("submit", function (event) {
      var file = fileInput && fileInput.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        event.preventDefault();
        stop(t("too_large", "The file is larger than the %(limit)s limit.", { limit: form.dataset.maxSize }));
        return;
      }
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      errorBox.hidden = true;
      box.hidden = false;
      bar.value = 0;
      text.textContent = file
        ? t("starting_size", "Starting the upload of %(size)s…", { size: megabytes(file.size) })
        : t("saving", "Saving…");
      submit.disabled = true;
      xhr = send(form.getAttribute("action") || window.location.href, new FormData(form), {
        progress: function (e, message) {
          bar.value = Math.floor((e.loaded / e.total) * 100);
          text.textContent = message;
        },
        uploaded: function () {
          bar.value = 100;
          text.textContent = t("checking", "Checking the video…");
          if (cancel) { cancel.hidden = true; }
        },
        done: function (status, body) {
          if (status >= 200 && status < 300 && body && body.redirect) {
            window.location.assign(body.redirect);
          } else {
            stop(errorMessage(status, body, form.dataset.maxSize));
          }
        },
        failed: function () {
          stop(t("lost", "The connection was lost during the upload. Please try again."));
        },
        cancelled: function () {
          stop(t("cancelled", "Upload cancelled: nothing was saved."));
        }
      });
      if (cancel) { cancel.hidden = false; }
    });
  }

  function setupBulk(box) {
    var input = box.querySelector("input[type=file]");
    var start = box.querySelector("[data-bulk-start]");
    var list = box.querySelector(".bulk-queue");
    var summary = box.querySelector("[data-bulk-summary]");
    var token = box.querySelector("input[name=csrf_token]").value;
    var maxBytes = parseInt(box.dataset.maxBytes, 10);
    var queue = [];
    var running = null;
    var counts = { added: 0, failed: 0, cancelled: 0 };

    box.hidden = false;

    function row(file) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.className = "bulk-name";
      name.textContent = file.name + " (" + megabytes(file.size) + ")";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", t("upload_of", "Upload of %(name)s", { name: file.name }));
      var status = document.createElement("span");
      status.className = "bulk-status";
      status.textContent = t("waiting", "Waiting");
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "link";
      cancel.textContent = t("cancel", "Cancel");
      cancel.setAttribute("aria-label", t("cancel_file", "Cancel %(name)s", { name: file.name }));
      item.append(name, bar, status, cancel);
      list.appendChild(item);
      var job = { file: file, item: item, bar: bar, status: status, cancel: cancel, xhr: null, state: "waiting" };
      cancel.addEventListener("click", function () {
        if (job.state === "sending" && job.xhr) {
          job.xhr.abort();
        } else if (job.state === "waiting") {
          settle(job, "cancelled", t("not_sent", "Cancelled: not sent."));
        }
      });
      return job;
    }

    function settle(job, state, message) {
      job.state = state;
      job.status.textContent = message;
      job.cancel.hidden = true;
      job.item.dataset.state = state;
      counts[state] += 1;
      if (job === running) { running = null; }
      next();
    }

    function report() {
      var parts = [counts.added === 1
        ? t("added_one", "1 episode added")
        : t("added_many", "%(count)s episodes added", { count: counts.added })];
      if (counts.failed) { parts.push(t("failed_count", "%(count)s failed", { count: counts.failed })); }
      if (counts.cancelled) {
        parts.push(t("cancelled_count", "%(count)s cancelled", { count: counts.cancelled }));
      }
      summary.textContent = parts.join(", ") + ".";
      if (counts.added) {
        var link = document.createElement("a");
        link.href = window.location.pathname + "#episodes";
        link.textContent = t("show", "Show them in the list");
        summary.appendChild(document.createTextNode(" "));
        link.addEventListener("click", function (e) { e.preventDefault(); window.location.reload(); });
        summary.appendChild(link);
      }
    }

    function next() {
      if (running) { return; }
      var job = queue.find(function (j) { return j.state === "waiting"; });
      if (!job) {
        start.disabled = true;
        input.disabled = false;
        report();
        return;
      }
      if (maxBytes && job.file.size > maxBytes) {
        settle(job, "failed", t("too_large_not_sent", "Larger than the %(limit)s limit: not sent.", {
          limit: box.dataset.maxSize
        }));
        return;
      }
      running = job;
      job.state = "sending";
      job.status.textContent = t("starting", "Starting…");
      var data = new FormData();
      data.append("csrf_token", token);
      data.append("bulk", "1");
      data.append("title", job.file.name.replace(/\.[^.]+$/, "").slice(0, 200));
      data.append("media", job.file, job.file.name);
      job.xhr = send(box.dataset.action, data, {
        progress: function (e, message) {
          job.bar.value = Math.floor((e.loaded / e.total) * 100);
          job.status.textContent = message;
        },
        uploaded: function () {
          job.bar.value = 100;
          job.status.textContent = t("checking", "Checking the video…");
          job.cancel.hidden = true;
        },
        done: function (status, body) {
          if (status >= 200 && status < 300 && body && body.episode) {
            var ep = body.episode;
            settle(job, "added", ep.duration
              ? t("added_duration", "Added as episode %(number)s · %(duration)s.", {
                number: ep.number, duration: ep.duration
              })
              : t("added", "Added as episode %(number)s.", { number: ep.number }));
          } else {
            settle(job, "failed", errorMessage(status, body, box.dataset.maxSize));
          }
        },
        failed: function () {
          settle(job, "failed", t("lost_not_saved", "The connection was lost: not saved."));
        },
        cancelled: function () {
          settle(job, "cancelled", t("cancelled_nothing", "Cancelled: nothing was saved."));
        }
      });
    }

    input.addEventListener("change", function () {
      start.disabled = input.files.length === 0;
      var count = input.files.length;
      start.textContent = count === 0
        ? t("upload_chosen", "Upload the chosen files")
        : count === 1 ? t("upload_one", "Upload 1 file") : t("upload_many", "Upload %(count)s files", { count: count });
    });

    start.addEventListener("click", function () {
      var files = Array.prototype.slice.call(input.files);
      files.sort(function (a, b) {
        return a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: "base" });
      });
      files.forEach(function (file) { queue.push(row(file)); });
      input.value = "";
      input.disabled = true;
      start.disabled = true;
      summary.textContent = "";
      next();
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(setupForm);
  document.querySelectorAll("[data-bulk-upload]").forEach(setupBulk);
})();
