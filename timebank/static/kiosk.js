/* The kiosk (events.kiosk): a barcode scanner types a member code and Enter; each scan is posted to the API
 * at once and its answer shown at the top of the list ("签到成功 09:02 张*明", or the server's reason in red).
 * The field clears and takes the focus again, ready for the next volunteer. Where the browser has
 * BarcodeDetector, the tablet's camera can read the codes too. */
(function () {
  "use strict";
  var root = document.getElementById("kiosk");
  if (!root || !window.fetch) { return; }

  var KEEP = 50;  // results kept on the page

  var form = document.getElementById("kiosk-form");
  var field = document.getElementById("kiosk-code");
  var results = document.getElementById("kiosk-results");
  var count = root.querySelector("[data-count]");

  function action() {
    var checked = form.querySelector('input[name="action"]:checked');
    return checked ? checked.value : "in";
  }

  function line(text, kind, item) {
    item = item || document.createElement("li");
    item.className = kind;
    item.textContent = text;
    if (!item.parentNode) {
      results.insertBefore(item, results.firstChild);
      while (results.children.length > KEEP) { results.removeChild(results.lastChild); }
    }
    return item;
  }

  function answered(item, scan) {
    var done = root.getAttribute(scan.action === "out" ? "data-done-out" : "data-done-in");
    // The server's sentence names the volunteer (masked) in the page's language.
    var who = scan.volunteer && scan.volunteer.masked_name ? " " + scan.volunteer.masked_name : "";
    line(scan.message || done + " " + scan.local_time + who, "ok", item);
    if (scan.presence && count) {
      count.textContent = root.getAttribute("data-count-template")
        .replace("{total}", scan.presence.total).replace("{present}", scan.presence["in"]);
    }
  }

  function send(code) {
    code = (code || "").trim();
    if (!code) { return; }
    var item = line("…", "pending");
    fetch(root.getAttribute("data-scan-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({member_code: code, action: action()})
    }).then(function (answer) {
      return answer.json().then(function (body) { return {ok: answer.ok, body: body}; });
    }).then(function (reply) {
      if (reply.ok) { answered(item, reply.body); return; }
      line(reply.body.message || root.getAttribute("data-failed"), "refused", item);
    }).catch(function () {
      line(root.getAttribute("data-failed"), "refused", item);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = field.value;
    field.value = "";
    field.focus();
    send(code);
  });
  // Whatever was tapped, the next scan must land in the field.
  form.addEventListener("change", function () { field.focus(); });
  window.addEventListener("focus", function () { field.focus(); });
  field.focus();

  // The camera, where the browser can read QR codes itself (camera.js).
  window.timebankCamera(document.getElementById("kiosk-camera"), document.getElementById("kiosk-video"), send, {
    denied: function (message) { line(message, "refused"); },
    stopped: function () { field.focus(); }
  });
})();
