/* A bulletin's recording (written for this project, MIT): the file field sent without
   leaving the page, or the browser's microphone (getUserMedia + MediaRecorder): record,
   stop, listen back, save. Both go to the form's own address with the page's CSRF token;
   the server decides what it accepts, and its one-line refusal is shown at the field.
   The words come from the page (data-* attributes, through the catalogue). */
(function () {
  "use strict";

  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];

  function suffix(type) {
    if (type.indexOf("ogg") >= 0) return ".ogg";
    if (type.indexOf("mp4") >= 0) return ".m4a";
    return ".webm";
  }

  function clockText(seconds) {
    var m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function init(form) {
    var error = form.querySelector("#recording-error");
    var token = form.querySelector('input[name="csrf"]').value;
    var maxBytes = Number(form.dataset.maxBytes) || 0;
    var maxSeconds = Number(form.dataset.maxSeconds) || 0;
    var buttons = form.querySelectorAll("button");

    function say(message) {
      error.textContent = message || "";
      error.hidden = !message;
    }

    function busy(on) {
      for (var i = 0; i < buttons.length; i++) {
        if (on) { buttons[i].dataset.was = buttons[i].disabled ? "1" : ""; buttons[i].disabled = true; }
        else { buttons[i].disabled = buttons[i].dataset.was === "1"; }
      }
    }

    function send(blob, name) {
      if (maxBytes && blob.size > maxBytes) { say(form.dataset.tooLarge); return; }
      var data = new FormData();
      data.append("csrf", token);
      data.append("recording", blob, name);
      say(form.dataset.sending);
      error.classList.remove("error");
      busy(true);
      fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": token }
      }).then(function (answer) {
        if (answer.ok && answer.redirected) { window.location.assign(answer.url); return null; }
        return answer.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var found = page.querySelector("#recording-error:not([hidden])") ||
            page.querySelector("main .card p");
          busy(false);
          error.classList.add("error");
          say(found ? found.textContent.trim() : form.dataset.failed);
        });
      }).catch(function () {
        busy(false);
        error.classList.add("error");
        say(form.dataset.failed);
      });
    }

    var field = form.querySelector('input[type="file"]');
    form.addEventListener("submit", function (event) {
      if (!field.files || !field.files.length) return; // the server says what is missing
      event.preventDefault();
      send(field.files[0], field.files[0].name);
    });

    var mic = form.querySelector("[data-mic]");
    if (!mic || !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder)) {
      return; // no microphone here: the file field stays
    }
    mic.hidden = false;
    var start = mic.querySelector("[data-start]"), stop = mic.querySelector("[data-stop]");
    var save = mic.querySelector("[data-save]"), take = null; // the take's player, once made
    var clock = mic.querySelector("[data-clock]");
    var recorder = null, stream = null, chunks = [], blob = null, timer = null, began = 0;
    var type = TYPES.filter(function (t) { return MediaRecorder.isTypeSupported(t); })[0] || "";

    function finish() {
      if (timer) { clearInterval(timer); timer = null; }
      if (recorder && recorder.state !== "inactive") recorder.stop();
      stop.disabled = true;
      start.disabled = false;
    }

    start.addEventListener("click", function () {
      say("");
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (got) {
        stream = got;
        recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
        chunks = [];
        recorder.addEventListener("dataavailable", function (e) { if (e.data && e.data.size) chunks.push(e.data); });
        recorder.addEventListener("stop", function () {
          blob = new Blob(chunks, { type: recorder.mimeType || type || "audio/webm" });
          if (!take) {
            take = document.createElement("audio");
            take.controls = true;
            take.setAttribute("data-take", "");
            mic.querySelector("[data-take-place]").appendChild(take);
          }
          if (take.src) URL.revokeObjectURL(take.src);
          take.src = URL.createObjectURL(blob);
          save.disabled = blob.size === 0;
          stream.getTracks().forEach(function (t) { t.stop(); });
        });
        recorder.start(1000);
        began = Date.now();
        clock.textContent = clockText(0);
        timer = setInterval(function () {
          var seconds = (Date.now() - began) / 1000;
          clock.textContent = clockText(seconds);
          if (maxSeconds && seconds >= maxSeconds) finish();
        }, 250);
        start.disabled = true;
        stop.disabled = false;
        save.disabled = true;
      }).catch(function () {
        error.classList.add("error");
        say(form.dataset.noMic);
      });
    });
    stop.addEventListener("click", finish);
    save.addEventListener("click", function () {
      if (blob) send(blob, "ghi-am" + suffix(blob.type));
    });
  }

  var forms = document.querySelectorAll("form[data-recorder]");
  for (var i = 0; i < forms.length; i++) init(forms[i]);
})();
