// The workbench's keyboard and lease handling. Served by the app (no inline script: the pages'
// Content-Security-Policy allows scripts from 'self' only). Everything here only speeds up what the
// page's own forms and buttons already do without it.
(function () {
  "use strict";

  var body = document.body;
  var base = body.dataset.base || "";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var submitting = false;
  var armed = false;

  // A form on its way out (a decision, "next"): leaving the page must not release the case first.
  document.addEventListener("submit", function () { submitting = true; }, true);

  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || el.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var type = (el.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit", "reset", "hidden"].indexOf(type) < 0;
  }

  function press(id) {
    var button = document.getElementById(id);
    if (!button || !button.form) { return false; }
    button.form.requestSubmit(button);
    return true;
  }

  function arm(on) {
    var reasons = document.getElementById("reasons");
    if (!reasons) { return false; }
    armed = on;
    reasons.classList.toggle("armed", on);
    if (on) {
      var first = reasons.querySelector("input[type=radio]");
      if (first) { first.focus(); }
    }
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) { return; }
    if (typing(ev.target)) {
      if (ev.key === "Escape") { ev.target.blur(); }
      return;
    }
    var key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    var handled = false;
    if (armed) {
      handled = true;
      if (key === "Escape") {
        arm(false);
      } else if (/^[1-9]$/.test(key)) {
        var radio = document.querySelector('#reasons input[data-key="' + key + '"]');
        if (radio) {
          radio.checked = true;
          arm(false);
          press("reject");
        }
      }
    } else if (key === "a") {
      handled = press("approve");
    } else if (key === "r") {
      handled = arm(true);
    } else if (key === "e") {
      handled = press("escalate");
    } else if (key === "c") {
      handled = press("claim");
    } else if (key === "n") {
      var next = document.getElementById("next-form");
      if (next) { next.requestSubmit(); handled = true; }
    }
    if (handled) { ev.preventDefault(); }
  });

  // The lease: renewed while the page is open (and whenever the reviewer comes back to it), given
  // back when the reviewer leaves without deciding.
  var caseId = body.dataset.case;
  if (caseId && body.dataset.lease === "held") {
    var url = base + "/cases/" + encodeURIComponent(caseId);
    var lost = function () {
      var banner = document.getElementById("lease-lost");
      if (banner) { banner.hidden = false; }
    };
    var renew = function () {
      fetch(url + "/lease", {
        method: "POST",
        headers: { "X-CSRF-Token": csrf },
        credentials: "same-origin",
        cache: "no-store"
      }).then(function (r) {
        if (!r.ok) { lost(); }
        body.dispatchEvent(new CustomEvent("lease-renewed", { detail: { ok: r.ok } }));
      }, function () { /* offline for a moment: the next tick tries again */ });
    };
    var timer = setInterval(renew, 60 * 1000);
    window.addEventListener("focus", renew);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { renew(); }
    });
    window.addEventListener("pagehide", function () {
      clearInterval(timer);
      if (submitting) { return; }
      navigator.sendBeacon(url + "/release", new URLSearchParams({ csrf_token: csrf }));
    });
  }
})();
