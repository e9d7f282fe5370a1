// Draws an offline report from the data inlined in the page.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var root = document.getElementById("dashboard");
  var view = lamina.view(root, "report", {live: false});
  view.update(data);
  var plans = view.parts.plans;
  plans.replaceChildren(plans.firstChild);
  data.explain.forEach(function (item, i) {
    plans.appendChild(document.createElement("h2")).textContent = "computation " + (i + 1);
    var pre = document.createElement("pre");
    pre.className = "explain";
    pre.textContent = item.text;
    plans.appendChild(pre);
    if (item.plan) {
      var wrap = document.createElement("div");
      wrap.className = "plan-graph";
      plans.appendChild(wrap);
      lamina.drawPlan(wrap, item.plan, "report-plan-" + i);
    }
  });
})();
