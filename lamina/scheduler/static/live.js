// Polls the scheduler's JSON snapshot and redraws the dashboard.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var interval = Math.max(200, Number(params.get("interval")) || 1000);
  var page = window.location.pathname.replace(/^\/+|\/+$/g, "") || "all";
  var view = lamina.view(document.getElementById("dashboard"), page, {live: true});
  var cursor = 0;
  function poll() {
    fetch("/api/status.json?since=" + cursor, {cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (snap) {
        cursor = snap.tasks.cursor;
        view.update(snap);
        document.getElementById("error").textContent = "";
      })
      .catch(function (e) {
        document.getElementById("error").textContent = "scheduler unreachable: " + e.message;
      })
      .then(function () { setTimeout(poll, interval); });
  }
  poll();
})();
