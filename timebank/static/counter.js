/* The station counter (redeem.counter_page). Before a visit: the member-code field keeps the focus for
 * the scanner, and the camera (camera.js) can read the code instead. During a visit: as the clerk changes
 * quantities (typed, or with the − and + steppers), show the total and what the volunteer will have
 * left, warn at once when an item passes its daily limit, and hold the confirm button back while the
 * basket is empty, too dear or over a limit. The server checks everything again; this only saves the clerk a
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
    // The scanner needs no keyboard; typing the phone's twelve digits does.
    document.getElementById("counter-type").addEventListener("click", function () {
      field.setAttribute("inputmode", "numeric");
      field.focus();
    });
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

  // Time as every page writes it (the hours_text filter): "49 小时 45 分钟", from the page's own words.
  function hours(m) {
    var sign = m < 0 ? "-" : "", whole = Math.floor(Math.abs(m) / 60), rest = Math.abs(m) % 60;
    var words = whole && rest ? visit.getAttribute("data-hours-minutes") : whole || !rest ? visit.getAttribute("data-hours") : visit.getAttribute("data-minutes-only");
    return sign + words.replace("111", whole).replace("222", rest);
  }

  function update() {
    var total = {PTS: 0, HOUR: 0}, count = 0, over = false;
    form.querySelectorAll("tr[data-price]").forEach(function (row) {
      var field = row.querySelector("input.qty");
      var quantity = field ? parseInt(field.value, 10) || 0 : 0;
      if (quantity > 0) {
        count += quantity;
        total[row.getAttribute("data-unit")] += quantity * parseInt(row.getAttribute("data-price"), 10);
      }
      // An item's daily limit is said at once, not after the clerk confirms.
      var warning = row.querySelector(".qty-warning");
      if (warning) {
        warning.hidden = quantity <= parseInt(row.getAttribute("data-left"), 10);
        over = over || !warning.hidden;
      }
      if (field) {
        row.querySelector(".step[data-step='-1']").disabled = field.disabled || quantity <= 0;
        row.querySelector(".step[data-step='1']").disabled = field.disabled || quantity >= parseInt(field.max, 10);
      }
    });
    var short = total.PTS > points || total.HOUR > minutes;
    out.textContent = short ? out.getAttribute("data-short") : out.getAttribute("data-template")
      .replace("{points}", total.PTS).replace("{hours}", hours(total.HOUR))
      .replace("{points_left}", points - total.PTS).replace("{hours_left}", hours(minutes - total.HOUR));
    out.className = "basket-total" + (short ? " short" : "");
    button.disabled = count === 0 || short || over;
  }

  // − and + beside each quantity, for a tablet without a keyboard; typing still works.
  form.addEventListener("click", function (event) {
    var step = event.target.closest(".step");
    if (!step) { return; }
    var field = step.parentNode.querySelector("input.qty");
    var next = (parseInt(field.value, 10) || 0) + parseInt(step.getAttribute("data-step"), 10);
    field.value = Math.max(0, Math.min(next, parseInt(field.max, 10)));
    update();
  });
  form.addEventListener("input", update);
  update();
})();
