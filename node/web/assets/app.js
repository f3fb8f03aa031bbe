// Reciprocity staff web app: the little the pages need beyond htmx.
// - Focus: after every page swap the field marked autofocus takes focus
//   with its text selected, so the next scan or keystroke replaces it.
// - Camera: "Scan with camera" loads the vendored QR decoder (jsQR) on
//   first use, reads frames from the camera, and submits the first code
//   it decodes as if it had been typed.
(function () {
  "use strict";

  function focusFirst(root) {
    var field = (root || document).querySelector("[autofocus]");
    if (field) {
      field.focus();
      if (typeof field.select === "function") field.select();
    }
  }

  var decoderLoading = null;
  function loadDecoder(src) {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!decoderLoading) {
      decoderLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.jsQR); };
        script.onerror = function () { decoderLoading = null; reject(new Error("the QR decoder did not load")); };
        document.head.appendChild(script);
      });
    }
    return decoderLoading;
  }

  var scanning = null;
  function stopCamera() {
    if (!scanning) return;
    scanning.stopped = true;
    scanning.stream.getTracks().forEach(function (t) { t.stop(); });
    scanning = null;
    var box = document.getElementById("camera");
    if (box) box.hidden = true;
  }

  function say(text) {
    var status = document.getElementById("camera-status");
    if (status) status.textContent = text;
  }

  function startCamera(button) {
    var box = document.getElementById("camera");
    var video = document.getElementById("camera-video");
    if (!box || !video || scanning) return;
    box.hidden = false;
    say("Starting the camera…");
    Promise.all([
      loadDecoder(button.getAttribute("data-decoder")),
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
    ]).then(function (both) {
      var decode = both[0], stream = both[1];
      var state = { stream: stream, stopped: false };
      scanning = state;
      video.srcObject = stream;
      return video.play().then(function () {
        say("Hold the card's QR code in front of the camera.");
        var canvas = document.createElement("canvas");
        var context = canvas.getContext("2d", { willReadFrequently: true });
        function frame() {
          if (state.stopped) return;
          var w = video.videoWidth, h = video.videoHeight;
          if (w && h) {
            canvas.width = w; canvas.height = h;
            context.drawImage(video, 0, 0, w, h);
            var code = decode(context.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
            if (code && code.data) {
              stopCamera();
              var field = document.getElementById("member");
              field.value = code.data;
              field.form.requestSubmit();
              return;
            }
          }
          setTimeout(frame, 120);
        }
        frame();
      });
    }).catch(function (error) {
      stopCamera();
      box.hidden = false;
      say("The camera cannot be used: " + error.message + ". Type or scan the code instead.");
    });
  }

  function setUp() {
    var scan = document.getElementById("scan");
    if (scan && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) scan.hidden = false;
    focusFirst(document);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("#scan")) startCamera(target.closest("#scan"));
    else if (target.closest("#camera-stop")) stopCamera();
  });
  document.addEventListener("htmx:beforeSwap", stopCamera);
  document.addEventListener("htmx:afterSettle", setUp);
  document.addEventListener("DOMContentLoaded", setUp);
})();
