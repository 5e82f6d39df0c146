/* Phát trực tiếp (written for this project, MIT): the browser's microphone to the
   station. MediaRecorder gives a piece every quarter second; the pieces are sent in
   order (one request at a time, with the page's CSRF token) to the broadcast the form
   started; the station says when it is on air, until when, and how it ended.
   The words come from the page (data-* attributes, through the catalogue). */
(function () {
  "use strict";

  var TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"];
  var form = document.getElementById("live");
  if (!form) return;
  var token = form.querySelector('input[name="csrf"]').value;
  var status = document.getElementById("live-status");
  var startButton = document.getElementById("live-start");
  var stopButton = document.getElementById("live-stop");
  var result = document.getElementById("live-result");
  var headers = { "X-CSRF-Token": token };

  function say(message, kind) {
    status.textContent = message || "";
    status.hidden = !message;
    status.className = "flash" + (kind ? " " + kind : "");
  }

  function json(answer) {
    return answer.json().then(function (body) { return { ok: answer.ok, status: answer.status, body: body }; },
      function () { return { ok: false, status: answer.status, body: {} }; });
  }

  function pickType() {
    for (var i = 0; i < TYPES.length; i++) {
      if (window.MediaRecorder.isTypeSupported(TYPES[i])) return TYPES[i];
    }
    return "";
  }

  function showResult(state) {
    var rows = result.querySelector("tbody");
    rows.textContent = "";
    (state.zones || []).forEach(function (z) {
      var tr = document.createElement("tr");
      [z.name || z.zone, z.word, String(z.seconds)].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      tr.className = "outcome-" + z.outcome;
      rows.appendChild(tr);
    });
    result.hidden = !(state.zones && state.zones.length);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder)) {
      say(form.dataset.noMic, "error");
      return;
    }
    startButton.disabled = true;
    say(form.dataset.starting, "info");
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var type = pickType();
      var recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      var queue = [];
      var feed = null;
      var sending = false;
      var over = false;

      function finished(state) {
        if (over) return;
        over = true;
        if (recorder.state !== "inactive") recorder.stop();
        stream.getTracks().forEach(function (t) { t.stop(); });
        stopButton.hidden = true;
        startButton.hidden = false;
        startButton.disabled = false;
        if (state && state.error) say(state.error, "error");
        else say(form.dataset.ended, "ok");
        showResult(state || {});
      }

      function fail(message) {
        finished({ error: message || form.dataset.failed });
      }

      function pump() {
        if (!feed || sending || over || !queue.length) return;
        sending = true;
        fetch("/truc-tiep/" + feed + "/am-thanh", {
          method: "POST", body: queue.shift(), credentials: "same-origin",
          headers: { "X-CSRF-Token": token, "Content-Type": "application/octet-stream" }
        }).then(function (answer) {
          sending = false;
          if (answer.status === 410) return json(answer).then(function (a) { finished(a.body); });
          if (!answer.ok) return json(answer).then(function (a) { fail(a.body.error); });
          pump();
          return null;
        }).catch(function () { sending = false; fail(); });
      }

      function poll() {
        if (over || !feed) return;
        fetch("/truc-tiep/" + feed, { credentials: "same-origin" }).then(json).then(function (a) {
          if (!a.ok) { fail(a.body.error); return; }
          if (a.body.ended) { finished(a.body); return; }
          if (a.body.on_air && !stopButton.dataset.stopping) {
            say(form.dataset.onAir.replace("{end}", a.body.on_air.ends_by), "warn");
          }
          setTimeout(poll, 1000);
        }).catch(function () { setTimeout(poll, 2000); });
      }

      recorder.ondataavailable = function (e) {
        if (e.data && e.data.size) { queue.push(e.data); pump(); }
      };
      recorder.onstop = function () {
        if (over || !feed) return;
        (function drain() {
          if (sending || queue.length) { pump(); setTimeout(drain, 100); return; }
          fetch("/truc-tiep/" + feed + "/dung", { method: "POST", credentials: "same-origin", headers: headers })
            .then(json).then(function (a) { finished(a.body); }, function () { fail(); });
        })();
      };
      recorder.start(250);

      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: headers })
        .then(json).then(function (a) {
          if (!a.ok) { fail(a.body.error); return; }
          feed = a.body.feed;
          startButton.hidden = true;
          stopButton.hidden = false;
          stopButton.disabled = false;
          delete stopButton.dataset.stopping;
          pump();
          poll();
        }, function () { fail(); });

      stopButton.onclick = function () {
        stopButton.disabled = true;
        stopButton.dataset.stopping = "1";
        say(form.dataset.stopping, "info");
        if (recorder.state !== "inactive") recorder.stop();
      };
    }, function () {
      startButton.disabled = false;
      say(form.dataset.noMic, "error");
    });
  });
})();
