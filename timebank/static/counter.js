/* The station counter (redeem.counter_page). Before a visit: the member-code field keeps the focus for
 * the scanner, and the camera (camera.js) can read the code instead. During a visit: as the clerk changes
 * quantities, show the total and what the volunteer will have left, and hold the confirm button back
 * while the basket is empty or too dear. The server checks everything again; this only saves the clerk a
 * refused confirmation. */
(function () {
  "use strict";
  var field = document.getElementById("member-code");
  if (field) {
    var scan = field.form, problem = document.createElement("p");
    problem.className = "notice notice-problem";
    problem.hidden = true;
    scan.appendChild(problem);
    window.addEventListener("focus", function () { field.focus(); });
    window.timebankCamera(document.getElementById("counter-camera"), document.getElementById("counter-video"), function (code) {
      field.value = code;
      scan.submit();
    }, {
      denied: function (message) { problem.textContent = message; problem.hidden = false; },
      stopped: function () { field.focus(); }
    });
  }
  var visit = document.getElementById("visit");
  if (!visit) { return; }
  var form = visit.querySelector("form.basket");
  var out = visit.querySelector(".basket-total");
  var button = form.querySelector("button[type=submit]");
  var points = parseInt(visit.getAttribute("data-points"), 10) || 0;
  var minutes = parseInt(visit.getAttribute("data-minutes"), 10) || 0;

  function hours(m) { return String(Math.round(m / 6) / 10); }

  function update() {
    var total = {PTS: 0, HOUR: 0}, count = 0;
    form.querySelectorAll("tr[data-price]").forEach(function (row) {
      var field = row.querySelector("input.qty");
      var quantity = field ? parseInt(field.value, 10) || 0 : 0;
      if (quantity > 0) {
        count += quantity;
        total[row.getAttribute("data-unit")] += quantity * parseInt(row.getAttribute("data-price"), 10);
      }
    });
    var short = total.PTS > points || total.HOUR > minutes;
    out.textContent = short ? out.getAttribute("data-short") : out.getAttribute("data-template")
      .replace("{points}", total.PTS).replace("{hours}", hours(total.HOUR))
      .replace("{points_left}", points - total.PTS).replace("{hours_left}", hours(minutes - total.HOUR));
    out.className = "basket-total" + (short ? " short" : "");
    button.disabled = count === 0 || short;
  }

  form.addEventListener("input", update);
  update();
})();
