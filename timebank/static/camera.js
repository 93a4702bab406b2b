/* Reading member codes with the tablet's camera, where the browser can read QR codes itself
 * (BarcodeDetector): shared by the check-in kiosk and the station counter. The button shows only where it
 * works; each code is handed over once, though the camera sees it many times a second. */
(function () {
  "use strict";
  var SAME_CODE_MS = 3000;

  window.timebankCamera = function (button, video, onCode, on) {
    on = on || {};
    if (!button || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) { return; }
      var detector = new window.BarcodeDetector({formats: ["qr_code"]});
      var stream = null, last = "", lastAt = 0;

      function look() {
        if (!stream) { return; }
        detector.detect(video).then(function (found) {
          var now = Date.now();
          if (found.length && (found[0].rawValue !== last || now - lastAt > SAME_CODE_MS)) {
            last = found[0].rawValue;
            lastAt = now;
            onCode(last);
          }
        }).catch(function () { /* a frame not ready yet */ }).then(function () { setTimeout(look, 250); });
      }

      function stop() {
        if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
        stream = null;
        video.hidden = true;
        button.textContent = button.getAttribute("data-start");
        if (on.stopped) { on.stopped(); }
      }

      button.hidden = false;
      button.addEventListener("click", function () {
        if (stream) { stop(); return; }
        navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (media) {
          stream = media;
          video.srcObject = media;
          video.hidden = false;
          button.textContent = button.getAttribute("data-stop");
          return video.play().then(look);
        }).catch(function () {
          if (on.denied) { on.denied(button.getAttribute("data-denied")); }
          stop();
        });
      });
      window.addEventListener("pagehide", stop);
    }).catch(function () { /* no camera reading here: the scanner still works */ });
  };
})();
