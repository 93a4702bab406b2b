/* The venue screen (events.screen): fresh codes when the 30-second window turns, the live count every few
 * seconds, and countdowns that follow the server's clock. Plain ES5 and XMLHttpRequest, for the browsers of
 * cheap TVs. A failed fetch keeps the codes on screen and shows a note: flaky Wi-Fi must never blank it. */
(function () {
  "use strict";
  var root = document.getElementById("venue");
  if (!root) { return; }

  var COUNT_EVERY = 5000;  // ms between fetches for the count
  var RETRY_AFTER = 3000;  // ms before trying again after a failure
  var TURN_MARGIN = 300;   // ms after the turn, so the server is surely in the new window

  var url = root.getAttribute("data-url");
  var windowMs = Number(root.getAttribute("data-window")) * 1000;
  var starts = Number(root.getAttribute("data-starts"));
  var ends = Number(root.getAttribute("data-ends"));
  var skew = Number(root.getAttribute("data-now")) - Date.now();  // the server's clock minus ours
  var turnAt = Date.now() + Number(root.getAttribute("data-refresh-in")) * 1000;
  var countTemplate = root.getAttribute("data-count-template");

  var codes = {
    check_in: root.querySelector('[data-code="in"]'),
    check_out: root.querySelector('[data-code="out"]')
  };
  var count = root.querySelector("[data-count]");
  var countdown = root.querySelector("[data-countdown]");
  var turnBar = root.querySelector("[data-turn]");
  var offline = root.querySelector("[data-offline]");
  var timer = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }

  function tick() {
    var now = Date.now() + skew;
    if (now < starts) {
      countdown.textContent = root.getAttribute("data-starts-in").replace("{time}", clock(starts - now));
    } else if (now < ends) {
      countdown.textContent = root.getAttribute("data-ends-in").replace("{time}", clock(ends - now));
    } else {
      countdown.textContent = root.getAttribute("data-ended");
    }
    var left = Math.max(0, turnAt - Date.now());
    turnBar.style.width = Math.min(100, (100 * left) / windowMs) + "%";
  }

  function show(state) {
    var keys = ["check_in", "check_out"];
    for (var i = 0; i < keys.length; i++) {
      var box = codes[keys[i]], fresh = state[keys[i]];
      if (!fresh.url) {  // closed: say why, and leave no code to scan
        if (box.getAttribute("data-url")) {
          box.innerHTML = "";
          var why = document.createElement("p");
          why.className = "venue-closed";
          why.appendChild(document.createTextNode(fresh.closed));
          box.appendChild(why);
          box.setAttribute("data-url", "");
        }
      } else if (box.getAttribute("data-url") !== fresh.url) {  // replace only a changed code: no flicker
        box.innerHTML = fresh.svg;
        box.setAttribute("data-url", fresh.url);
      }
    }
    count.textContent = countTemplate.replace("{total}", state.presence.total).replace("{present}", state.presence["in"]);
    root.className = "venue-screen at-" + state.phase;
    skew = state.now - Date.now();
    turnAt = Date.now() + state.refresh_in * 1000;
    offline.style.display = "none";
  }

  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  function failed(signedOut) {
    offline.textContent = offline.getAttribute(signedOut ? "data-signed-out" : "data-reconnecting");
    offline.style.display = "block";
    later(RETRY_AFTER);
  }

  function refresh() {
    var request = new XMLHttpRequest();
    request.open("GET", url, true);
    request.setRequestHeader("Accept", "application/json");
    request.timeout = 8000;
    request.onload = function () {
      var state = null;
      if (request.status === 200) {
        try { state = JSON.parse(request.responseText); } catch (e) { state = null; }  // e.g. the sign-in page
      }
      if (!state || !state.check_in || !state.check_out) { failed(request.status === 401); return; }
      show(state);
      later(Math.max(250, Math.min(COUNT_EVERY, turnAt - Date.now() + TURN_MARGIN)));
    };
    request.onerror = function () { failed(false); };
    request.ontimeout = request.onerror;
    request.send();
  }

  // Full screen where the browser offers it, and keep the display awake where it can.
  var fullscreen = root.querySelector("[data-fullscreen]");
  var page = document.documentElement;
  var enter = page.requestFullscreen || page.webkitRequestFullscreen;
  if (fullscreen && enter) {
    fullscreen.hidden = false;
    fullscreen.addEventListener("click", function () { enter.call(page); });
  }
  function stayAwake() {
    if (navigator.wakeLock && navigator.wakeLock.request) {
      navigator.wakeLock.request("screen").catch(function () { /* not allowed here: the TV's own settings decide */ });
    }
  }
  stayAwake();
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { stayAwake(); later(0); }
  });

  offline.style.display = "none";
  tick();
  setInterval(tick, 1000);
  later(Math.max(250, Math.min(COUNT_EVERY, turnAt - Date.now() + TURN_MARGIN)));
})();
