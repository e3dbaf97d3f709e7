// The pack station without the mouse. A keyboard-wedge scanner types a code and Enter into the one field that
// always has the focus; scans are sent one after another (none lost while an answer is on its way) and each
// answer replaces the station's part of the page, sounded by its signal. Enter in an empty scan field weighs the
// parcel with the scale's reading. Scales the browser can read itself: serial ones (WebSerial, MT-SICS or
// NCI SCP-12) and USB HID scales (usage page 0x8D); their stable reading fills the weight.
(function () {
  "use strict";
  var queue = [];
  var busy = false;
  var audio = null;

  function tone(freq, ms, at, type) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator();
      var g = audio.createGain();
      o.type = type || "sine";
      o.frequency.value = freq;
      g.gain.value = 0.15;
      o.connect(g);
      g.connect(audio.destination);
      var start = audio.currentTime + (at || 0) / 1000;
      o.start(start);
      o.stop(start + ms / 1000);
    } catch (e) {
      /* no sound on this machine: the colour still says it */
    }
  }

  function sound(signal) {
    if (signal === "ok") tone(880, 80);
    else if (signal === "done") { tone(660, 90); tone(990, 140, 110); }
    else if (signal === "wrong") tone(200, 450, 0, "square");
    else if (signal === "info") tone(440, 60);
  }

  function scanField() {
    return document.getElementById("scan");
  }

  function focusScan() {
    var f = scanField();
    var a = document.activeElement;
    // Typing a weight or sides by hand keeps its field; anything else gives the focus back to the scanner.
    if (f && !(a && a.form && a.form.id === "weigh-form" && a.tagName !== "BUTTON")) f.focus();
  }

  function afterAnswer() {
    var answer = document.getElementById("answer");
    if (answer) sound(answer.getAttribute("data-signal"));
    var pdf = document.getElementById("label-pdf");
    if (pdf && answer && answer.getAttribute("data-signal") === "done") window.open(pdf.href, "_blank", "noopener");
    setupScales();
    focusScan();
  }

  function post(form, extra) {
    var data = new URLSearchParams(new FormData(form));
    Object.keys(extra || {}).forEach(function (k) { data.set(k, extra[k]); });
    // form.action would be the field named "action", not the form's address.
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }).then(function (r) {
      if (!r.ok || r.redirected) throw new Error("status " + r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("station");
      var here = document.getElementById("station");
      if (!fresh || !here) throw new Error("not the station page");
      here.replaceWith(document.adoptNode(fresh));
      afterAnswer();
    });
  }

  function next() {
    if (busy || queue.length === 0) return;
    busy = true;
    var job = queue.shift();
    var form = document.getElementById(job.form);
    if (!form) { busy = false; next(); return; }
    post(form, job.extra).catch(function (err) {
      // Signed out, or the server is away: let the browser show what it says.
      if (window.console) console.warn("pack station: " + err);
      form.submit();
    }).then(function () { busy = false; next(); });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id === "scan-form") {
      e.preventDefault();
      var f = scanField();
      var code = f.value.trim();
      f.value = "";
      if (code === "") {
        if (document.getElementById("weigh-form")) queue.push({ form: "weigh-form", extra: {} });
      } else {
        queue.push({ form: "scan-form", extra: { code: code } });
      }
      next();
    } else if (form.id === "weigh-form") {
      e.preventDefault();
      queue.push({ form: "weigh-form", extra: {} });
      next();
    }
  });

  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("button, a, input, select, label")) focusScan();
  });
  window.addEventListener("focus", focusScan);

  // Scales read by the browser itself.
  function setWeight(grams) {
    var w = document.getElementById("weight");
    var src = document.getElementById("weigh-source");
    if (!w) return;
    w.value = String(grams);
    if (src) src.value = "scale";
    tone(1200, 40);
  }

  function mtSics(line) {
    var m = /^S\s+([SD])\s+(-?[0-9.]+)\s*(g|kg|lb|oz)\s*$/i.exec(line.trim());
    if (!m) return null;
    return { stable: m[1] === "S", grams: toGrams(parseFloat(m[2]), m[3]) };
  }

  function scp12(frame) {
    var parts = frame.replace(/^[^\n]*\n/, "").replace(/\x03$/, "").split("\r").map(function (p) {
      return p.replace(/^\n/, "");
    }).filter(function (p) { return p.length > 0; });
    if (parts.length !== 2 || parts[1].length !== 2) return null;
    var s1 = parts[1].charCodeAt(0) & 0x0f;
    var s2 = parts[1].charCodeAt(1) & 0x0f;
    if (s2 & 0x03) return null;
    var m = /^\s*(-?[0-9.]+)\s*(LB|KG|OZ|G)\s*$/i.exec(parts[0]);
    if (!m) return null;
    return { stable: (s1 & 1) === 0, grams: toGrams(parseFloat(m[1]), m[2]) };
  }

  function toGrams(v, unit) {
    var u = unit.toLowerCase();
    var per = u === "kg" ? 1000 : u === "lb" ? 453.59237 : u === "oz" ? 28.349523125 : 1;
    return Math.round(v * per);
  }

  function readSerial() {
    var protocol = document.getElementById("scale-protocol").value;
    var scp = protocol === "scp-12";
    navigator.serial.requestPort().then(function (port) {
      return port.open({ baudRate: 9600, dataBits: scp ? 7 : 8, parity: scp ? "even" : "none", stopBits: 1 })
        .then(function () { return port; });
    }).then(function (port) {
      var writer = port.writable.getWriter();
      var reader = port.readable.getReader();
      var buf = "";
      var last = null;
      var ask = setInterval(function () {
        writer.write(new TextEncoder().encode(scp ? "W\r" : "SI\r\n")).catch(function () { clearInterval(ask); });
      }, 300);
      (function loop() {
        reader.read().then(function (r) {
          if (r.done) { clearInterval(ask); return; }
          buf += new TextDecoder("latin1").decode(r.value);
          if (buf.length > 512) buf = buf.slice(-128);
          var end = scp ? "\x03" : "\n";
          var i;
          while ((i = buf.indexOf(end)) >= 0) {
            var frame = buf.slice(0, i + 1);
            buf = buf.slice(i + 1);
            var reading = scp ? scp12(frame) : mtSics(frame);
            // Two equal stable readings in a row: the parcel has settled.
            if (reading && reading.stable && reading.grams > 0) {
              if (last === reading.grams) setWeight(reading.grams);
              last = reading.grams;
            }
          }
          loop();
        }).catch(function () { clearInterval(ask); });
      })();
    }).catch(function () { /* the packer closed the chooser */ });
  }

  var HID_UNITS = { 1: 0.001, 2: 1, 3: 1000, 11: 28.349523125, 12: 453.59237 };

  function readHid() {
    navigator.hid.requestDevice({ filters: [{ usagePage: 0x8d }] }).then(function (devices) {
      var d = devices[0];
      if (!d) return;
      return (d.opened ? Promise.resolve() : d.open()).then(function () {
        d.addEventListener("inputreport", function (e) {
          var v = e.data;
          if (v.byteLength < 5) return;
          // Scale data report: status, unit, exponent, weight (16 bits, little-endian); status 4 = stable.
          var status = v.getUint8(0);
          var per = HID_UNITS[v.getUint8(1)];
          var exp = v.getInt8(2);
          var raw = v.getUint8(3) + 256 * v.getUint8(4);
          if (status === 4 && per) setWeight(Math.round(raw * Math.pow(10, exp) * per));
        });
      });
    }).catch(function () { /* chooser closed */ });
  }

  function setupScales() {
    var serial = document.getElementById("scale-serial");
    var hid = document.getElementById("scale-hid");
    var proto = document.getElementById("scale-protocol-label");
    if (serial && "serial" in navigator) { serial.hidden = false; proto.hidden = false; serial.onclick = readSerial; }
    if (hid && "hid" in navigator) { hid.hidden = false; hid.onclick = readHid; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("station")) return;
    afterAnswer();
  });
})();
