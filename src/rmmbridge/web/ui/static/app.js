// Small progressive enhancements: every page works without this file.
// Confirmations, copy buttons, the sign-in method switch and live sync progress.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Browsers skip autofocus when the URL names a fragment (#connection); the prompt still needs it.
  // Scrolling to the fragment also moves focus, so this waits for the load to finish.
  window.addEventListener("load", function () {
    setTimeout(function () {
      var autofocus = document.querySelector("[autofocus]");
      if (autofocus && document.activeElement !== autofocus) { autofocus.focus({ preventScroll: true }); }
    }, 0);
  });

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Confirmation for destructive buttons: <button data-confirm="...">.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);

  function flashButton(el, text) {
    var label = el.getAttribute("data-label") || el.innerHTML;
    el.setAttribute("data-label", label);
    el.textContent = text;
    setTimeout(function () { el.innerHTML = label; }, 1600);
  }

  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) { return navigator.clipboard.writeText(text); }
    return new Promise(function (resolve, reject) {
      var t = document.createElement("textarea");
      t.value = text; t.setAttribute("readonly", ""); t.style.position = "fixed"; t.style.opacity = "0";
      document.body.appendChild(t); t.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(t);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  // Copy buttons: <button data-copy="#element-id"> copies an input's value or an element's text.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-copy]");
    if (!el) return;
    ev.preventDefault();
    var src = document.querySelector(el.getAttribute("data-copy"));
    if (!src) return;
    var text = (src.tagName === "INPUT" || src.tagName === "TEXTAREA") ? src.value : src.textContent;
    writeClipboard(text).then(function () { flashButton(el, "Copied"); }, function () { flashButton(el, "Press Ctrl+C"); if (src.select) src.select(); });
  });

  // Copy the webhook secret without showing it: fetched from the API (POST, CSRF header) on click.
  document.querySelectorAll("[data-copy-secret]").forEach(function (el) { el.hidden = false; });
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-copy-secret]");
    if (!el) return;
    ev.preventDefault();
    fetch(el.getAttribute("data-copy-secret"), {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) { return writeClipboard(body.secret); })
      .then(function () { flashButton(el, "Copied"); }, function () { flashButton(el, "Copy failed"); });
  });

  // Sign-in method switch: only the chosen mode's fields are shown (and submitted).
  document.querySelectorAll("[data-auth-form]").forEach(function (form) {
    var radios = form.querySelectorAll("[data-mode-switch]");
    if (!radios.length) return;
    function apply() {
      var chosen = form.querySelector("[data-mode-switch]:checked");
      var mode = chosen ? chosen.value : null;
      form.querySelectorAll("[data-auth-mode]").forEach(function (fs) {
        var on = fs.getAttribute("data-auth-mode") === mode;
        fs.hidden = !on;
        fs.disabled = !on;
      });
    }
    radios.forEach(function (r) { r.addEventListener("change", apply); });
    apply();
  });

  // On small screens the filter box starts folded unless filters are in use.
  if (window.matchMedia && window.matchMedia("(max-width: 640px)").matches) {
    document.querySelectorAll("details[data-collapse-sm]:not([data-keep-open])").forEach(function (d) { d.open = false; });
  }

  // Auto-sync toggles show their state next to the box.
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (box.name !== "auto_sync" || !box.parentElement) return;
    var text = box.parentElement.querySelector("[aria-hidden]");
    if (text) text.textContent = box.checked ? "On" : "Off";
  });

  // Live progress of sync runs: <div data-run-poll data-run-id="..."> polls the REST API.
  function percent(run) {
    if (run.status !== "queued" && run.status !== "running") return 100;
    var p = run.progress || {};
    if (p.devices_expected) return Math.max(0, Math.min(99, Math.floor(100 * (p.devices_done || 0) / p.devices_expected)));
    if (p.scopes_total) return Math.max(0, Math.min(99, Math.floor(100 * (p.scopes_done || 0) / p.scopes_total)));
    return null;
  }
  function countersText(run, scopes) {
    var parts = [];
    var p = run.progress || {};
    if (p.devices_expected) parts.push((p.devices_done || 0) + " of " + p.devices_expected + " devices");
    if (p.scopes_total) parts.push((p.scopes_done || 0) + " of " + p.scopes_total + " " + (scopes || "scopes"));
    var c = run.counters || {};
    Object.keys(c).forEach(function (k) {
      if (c[k] || k === "processed") parts.push(c[k] + " " + k.replace(/_/g, " "));
    });
    if (!parts.length) return (run.status === "queued" || run.status === "running") ? "Starting…" : "Nothing to report.";
    return parts.join(" · ");
  }
  function update(panel, run) {
    var status = panel.querySelector('[data-run-field="status"]');
    if (status) { status.textContent = run.status; status.className = "run-status badge badge-" + run.status; }
    var bar = panel.querySelector('[data-run-field="bar"]');
    if (bar) {
      var pct = percent(run);
      var fill = bar.querySelector("span");
      if (pct === null) { bar.classList.add("progress-indeterminate"); bar.removeAttribute("aria-valuenow"); }
      else { bar.classList.remove("progress-indeterminate"); bar.setAttribute("aria-valuenow", String(pct)); if (fill) fill.style.width = pct + "%"; }
    }
    var counters = panel.querySelector('[data-run-field="counters"]');
    if (counters) counters.textContent = countersText(run, panel.getAttribute("data-scopes-label"));
  }
  function calm() {
    var a = document.activeElement;
    return !a || a === document.body || a.tagName === "BUTTON" || a.tagName === "A";
  }
  function poll(panel, failures) {
    var id = panel.getAttribute("data-run-id");
    fetch("/api/v1/sync-runs/" + encodeURIComponent(id), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (run) {
        update(panel, run);
        if (run.status === "queued" || run.status === "running") {
          setTimeout(function () { poll(panel, 0); }, 800);
          return;
        }
        panel.removeAttribute("data-run-poll");
        panel.setAttribute("data-run-done", run.status);
        // Reload to refresh the status panel, history and counts, unless the user is typing.
        setTimeout(function () {
          if (calm()) { window.location.reload(); return; }
          var note = document.createElement("p");
          note.className = "muted"; note.innerHTML = 'Finished. <a href="">Reload</a> to see the updated numbers.';
          panel.appendChild(note);
        }, 1200);
      })
      .catch(function () {
        if (failures < 5) setTimeout(function () { poll(panel, failures + 1); }, 2000 * (failures + 1));
      });
  }
  document.querySelectorAll("[data-run-poll]").forEach(function (panel) { poll(panel, 0); });
  // Webhook delivery health, live (issue #18): while the integration page is open, the delivery
  // counts and the last delivery follow what arrives (a test alert sent from Tactical shows up
  // here without a reload). Every 5 s, for at most 10 minutes.
  document.querySelectorAll("[data-webhook-live]").forEach(function (box) {
    var url = box.getAttribute("data-webhook-live"), left = 120;
    function set(sel, text) { var el = box.querySelector(sel); if (el && text !== null) el.textContent = text; }
    function tick() {
      if (left-- <= 0 || document.hidden) { if (left > 0) setTimeout(tick, 5000); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (hook) {
          set("[data-deliveries-accepted]", String(hook.deliveries_accepted));
          set("[data-deliveries-rejected]", String(hook.deliveries_rejected));
          set("[data-missed-by-webhook]", String(hook.alerts_missed_by_webhook));
          if (hook.last_delivery_at) set("[data-last-delivery]", new Date(hook.last_delivery_at).toLocaleTimeString());
          setTimeout(tick, 5000);
        })
        .catch(function () { setTimeout(tick, 15000); });
    }
    setTimeout(tick, 5000);
  });

  // Issue #17. An auto-sync switch is saved the moment it changes: <input data-autosave="URL">
  // posts only that switch (the row's Save still works without this script).
  document.addEventListener("change", function (ev) {
    var box = ev.target.closest("input[data-autosave]");
    if (!box) { return; }
    var body = new FormData();
    body.append("csrf_token", csrfToken());
    body.append("action", "auto_sync");
    body.append("auto_sync__shown", "1");
    if (box.checked) { body.append("auto_sync", "true"); }
    var label = box.parentNode.querySelector("[aria-hidden]");
    box.disabled = true;
    fetch(box.getAttribute("data-autosave"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error(String(r.status)); }
        if (label) { label.textContent = box.checked ? "On" : "Off"; }
        box.setAttribute("data-saved", box.checked ? "on" : "off");
      })
      .catch(function () { box.checked = !box.checked; window.alert("Auto-sync was not saved; reload the page and try again."); })
      .then(function () { box.disabled = false; });
  });

  // "Select all" for a list of checkboxes: <input data-select-all="NAME"> ticks every input[name=NAME].
  document.addEventListener("change", function (ev) {
    var all = ev.target.closest("input[data-select-all]");
    if (!all) { return; }
    var name = all.getAttribute("data-select-all");
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (b) { b.checked = all.checked; });
  });

  // The integration page's sync panel (issue #17): exactly one state at a time — idle, running
  // with its progress, or finished/failed with its result. Syncs are started through the REST API
  // and followed here; when one ends, the counts, mappings, history and buttons are re-read from
  // the server and swapped in place. The page never reloads itself (without the script, the forms
  // post and redirect as before).
  var syncPanel = document.querySelector("[data-sync-panel]");
  if (syncPanel) {
    var integrationId = syncPanel.getAttribute("data-sync-panel");
    var scopesWord = syncPanel.getAttribute("data-scopes-label") || "scopes";
    var followed = null;
    var make = function (tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined && text !== null) e.textContent = text;
      return e;
    };
    var labelOf = function (kind) {
      var form = document.querySelector('form[data-sync-start="' + kind + '"]');
      return form ? form.getAttribute("data-sync-label") : kind;
    };
    var runBox = function (run) {
      var active = run.status === "queued" || run.status === "running";
      var label = labelOf(run.kind);
      var box = make("div", "run-panel");
      box.setAttribute("data-run-id", run.id);
      box.setAttribute("data-run-kind", run.kind);
      var head = make("div", "run-head");
      head.appendChild(make("strong", null, label + " sync"));
      head.appendChild(document.createTextNode(" "));
      var badge = make("span", "run-status badge badge-" + run.status, run.status);
      badge.setAttribute("data-run-field", "status");
      head.appendChild(badge);
      box.appendChild(head);
      if (active) {
        var bar = make("div", "progress");
        bar.setAttribute("role", "progressbar");
        bar.setAttribute("aria-label", label + " sync progress");
        bar.setAttribute("aria-valuemin", "0");
        bar.setAttribute("aria-valuemax", "100");
        bar.setAttribute("data-run-field", "bar");
        bar.appendChild(make("span"));
        box.appendChild(bar);
      }
      var counters = make("p", "run-counters muted");
      counters.setAttribute("aria-live", "polite");
      counters.setAttribute("data-run-field", "counters");
      box.appendChild(counters);
      update(box, run);
      if (!active) {
        var errors = run.errors || [];
        if (errors.length) {
          var details = make("details", "run-errors");
          details.appendChild(make("summary", null, errors.length + " error" + (errors.length === 1 ? "" : "s")));
          var list = make("ul");
          errors.slice(0, 10).forEach(function (e) { list.appendChild(make("li", null, e.error || e.cause || JSON.stringify(e))); });
          details.appendChild(list);
          box.appendChild(details);
        }
        box.appendChild(make("p", "run-finished muted small", run.status === "failed" ? "Failed just now." : "Finished just now."));
      }
      return box;
    };
    var show = function (state, node) {
      syncPanel.setAttribute("data-state", state);
      while (syncPanel.firstChild) syncPanel.removeChild(syncPanel.firstChild);
      syncPanel.appendChild(node);
    };
    var calmFocus = function () {
      var a = document.activeElement;
      return !a || a === document.body || a.tagName === "BUTTON" || a.tagName === "A";
    };
    // After a run: the server's own rendering of what it changed, swapped in without navigating.
    var refreshRegions = function () {
      fetch(window.location.pathname + window.location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          ["status", "mappings", "sync-history", "sync-actions"].forEach(function (id) {
            var fresh = doc.getElementById(id), current = document.getElementById(id);
            if (!fresh || !current) return;
            if (current.contains(document.activeElement) && !calmFocus()) return;  // the user is typing there
            var focused = current.contains(document.activeElement) ? document.activeElement.closest("form[data-sync-start]") : null;
            var node = document.importNode(fresh, true);
            current.parentNode.replaceChild(node, current);
            if (focused) {
              var again = node.querySelector('form[data-sync-start="' + focused.getAttribute("data-sync-start") + '"] button');
              if (again) again.focus({ preventScroll: true });
            }
          });
          document.dispatchEvent(new CustomEvent("rmmbridge:sync-refreshed"));
        })
        .catch(function () { /* the panel already says how the run ended */ });
    };
    var setBusy = function (kind, busy) {
      var button = document.querySelector('form[data-sync-start="' + kind + '"] button');
      if (!button) return;
      if (busy) { button.disabled = true; button.setAttribute("data-busy", ""); button.setAttribute("aria-describedby", "sync-panel"); }
      else if (button.hasAttribute("data-busy")) { button.disabled = false; button.removeAttribute("data-busy"); button.removeAttribute("aria-describedby"); }
    };
    var follow = function (runId, failures) {
      if (followed !== runId) return;  // a newer run took over the panel
      fetch("/api/v1/sync-runs/" + encodeURIComponent(runId), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (run) {
          if (followed !== runId) return;
          var active = run.status === "queued" || run.status === "running";
          var current = syncPanel.querySelector('.run-panel[data-run-id="' + run.id + '"]');
          if (active) {
            if (current && syncPanel.getAttribute("data-state") === "running") update(current, run);
            else show("running", runBox(run));
            setBusy(run.kind, true);
            setTimeout(function () { follow(runId, 0); }, 800);
            return;
          }
          show(run.status, runBox(run));
          setBusy(run.kind, false);
          refreshRegions();
        })
        .catch(function () {
          if (failures < 5) setTimeout(function () { follow(runId, failures + 1); }, 2000 * (failures + 1));
        });
    };
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (!form.matches || !form.matches("form[data-sync-start]")) return;
      ev.preventDefault();
      var kind = form.getAttribute("data-sync-start");
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      fetch("/api/v1/integrations/" + encodeURIComponent(integrationId) + "/sync/" + encodeURIComponent(kind), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), "Accept": "application/json" }
      })
        .then(function (r) { return r.json().catch(function () { return {}; }).then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok || !res.body.run) {
            if (button) button.disabled = false;
            var note = make("p", "sync-refused bad-text", labelOf(kind) + " sync not started: " + (res.body.detail || "the server refused it") + ".");
            show("failed", note);
            return;
          }
          var run = res.body.run;
          followed = run.id;
          syncPanel.setAttribute("data-run-id", run.id);
          show(run.status === "queued" || run.status === "running" ? "running" : run.status, runBox(run));
          follow(run.id, 0);
        })
        .catch(function () {
          if (button) button.disabled = false;
          show("failed", make("p", "sync-refused bad-text", labelOf(kind) + " sync not started: rmmbridge did not answer; try again."));
        });
    });
    if (syncPanel.getAttribute("data-state") === "running") {
      followed = syncPanel.getAttribute("data-run-id");
      follow(followed, 0);
    }
  }
})();
