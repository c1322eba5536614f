// The agent's browser phone (issue 13): JsSIP (web/static/vendor/jssip.js, from npm) over
// Asterisk's WebSocket transport, WebRTC media.
//
// Theory of operation: the page carries no SIP settings. On load the script fetches
// /api/v1/agents/me/webphone (the agent's own session; the server creates the webphone
// the first time) and registers. The state shown comes from JsSIP's events
// (registered / unregistered / registrationFailed), next to what Asterisk reports
// (/api/v1/agents/me/webphone/status, polled): that second line is the truth the ACD
// uses. An incoming call shows its caller and the answer button; once answered:
// hang up, mute, hold and the DTMF keypad (RFC 4733, as Asterisk's endpoints expect).
// The remote audio plays in the hidden <audio> element.
//
// One registration per agent, whatever the number of tabs. The tabs of one agent elect
// the tab that holds the phone with a Web Lock named after the agent's SIP user: the tab
// holding the lock registers; every other tab waits for it in the lock's queue, shows
// what the phone tab broadcasts (BroadcastChannel) and sends its button presses there, so
// a call can be answered from any tab while the audio plays in the phone tab. "Take over"
// steals the lock (never during a call): the old tab unregisters and waits again. When
// the phone tab closes, the lock passes to the next tab, which registers.
//
// Network cuts: JsSIP reconnects its WebSocket every 1–3 s and registers again on its own;
// a call that was up when the connection dropped is renegotiated once it is back (a
// re-INVITE with an ICE restart): Asterisk learns the new connection for the dialog and
// the media path is checked again, so a laptop that changed networks keeps its call.
//
// Preflight: before a webphone agent can log in to the queues or go ready, the phone tab
// checks the microphone (its level, in the page) and the whole media path: it calls *43,
// Asterisk's echo test, and listens for its own voice coming back. A pass is kept for the
// day in this browser (localStorage), so other tabs and reloads do not ask again.
//
// Supervisors and admins get the same phone on the live calls page and the agents board
// (one registration across tabs as above, no queue gate): it rings for their supervision
// sessions and answers their own one by itself (answerOwnSupervision).
//
// Call quality: the phone tab measures each answered call with WebRTC statistics: the
// time from the answer to the first audio received (dead air), and at the end packets
// received and lost, jitter and round trip; it reports them for the call's record
// (POST …/webphone/calls/<call id>/quality; the call id is the X-Centrala-Call-Id header
// Asterisk's INVITE carries).
(function () {
  "use strict";
  var root = document.getElementById("webphone");
  if (!root || !window.JsSIP) { return; }
  var text = JSON.parse(root.getAttribute("data-text") || "{}");
  var $ = function (id) { return document.getElementById(id); };
  var ua = null, session = null, conf = null, bus = null, quality = null;
  var holder = false;  // this tab holds the registration
  var queued = null;  // AbortController of this tab's place in the lock's queue
  var requests = 0, heldBy = 0;  // lock requests made; the one that holds the phone
  var view = { state: "starting", caller: "", muted: false, held: false };

  function show(id, on) { $(id).hidden = !on; }
  function toggleLabel(button, on) {
    button.textContent = button.getAttribute(on ? "data-on" : "data-off");
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }
  function error(message) { var e = $("wp-error"); e.textContent = message || ""; e.hidden = !message; }

  var BADGE = { registered: "ok", on_call: "ok", ringing: "warn", on_hold: "warn",
                elsewhere: "warn", unregistered: "bad", failed: "bad" };

  function render() {
    var st = view.state, ringing = st === "ringing", live = st === "on_call" || st === "on_hold";
    root.setAttribute("data-state", st);
    root.setAttribute("data-tab", holder ? "phone" : "remote");
    root.setAttribute("data-caller", view.caller || "");
    var badge = $("wp-state");
    badge.textContent = view.label || text[st] || st;
    badge.className = "badge" + (BADGE[st] ? " " + BADGE[st] : "");
    $("wp-caller").textContent = view.callerText || "";
    show("wp-call", ringing || live);
    show("wp-answer", ringing);
    show("wp-hangup", ringing || live);
    show("wp-mute", live);
    show("wp-hold", live && !view.supervision);  // holding a barge would play music into the call
    show("wp-keypad", live && !view.supervision);
    toggleLabel($("wp-mute"), view.muted);
    toggleLabel($("wp-hold"), view.held);
    // another tab holds the phone: say so, and offer to take it over between calls
    show("wp-elsewhere", !holder && bus !== null);
    show("wp-takeover", !holder && bus !== null && !ringing && !live);
    show("wp-preflight", holder && st === "registered");
  }

  function publish(patch) {
    Object.keys(patch).forEach(function (k) { view[k] = patch[k]; });
    render();
    if (holder && bus) { bus.postMessage({ type: "state", view: view }); }
  }

  function idleState() {
    var on = ua && ua.isRegistered();
    return { state: on ? "registered" : "unregistered", caller: "", callerText: "",
             muted: false, held: false, label: null, supervision: false };
  }

  // ---- call quality (phone tab only) ----
  function inboundAudio(stats) {
    var found = { inbound: null, remote: null, codec: "" }, codecs = {};
    stats.forEach(function (r) {
      if (r.type === "inbound-rtp" && (r.kind || r.mediaType) === "audio") { found.inbound = r; }
      if (r.type === "remote-inbound-rtp" && (r.kind || r.mediaType) === "audio") { found.remote = r; }
      if (r.type === "codec") { codecs[r.id] = r.mimeType || ""; }
    });
    if (found.inbound && found.inbound.codecId) {
      found.codec = (codecs[found.inbound.codecId] || "").replace(/^audio\//, "");
    }
    return found;
  }

  function figures(stats) {
    var got = inboundAudio(stats), inbound = got.inbound, remote = got.remote || {};
    if (!inbound) { return null; }
    return {
      packets_received: Math.max(0, inbound.packetsReceived || 0),
      packets_lost: Math.max(0, inbound.packetsLost || 0),
      jitter_ms: inbound.jitter !== undefined ? inbound.jitter * 1000 : null,
      rtt_ms: remote.roundTripTime !== undefined ? remote.roundTripTime * 1000 : null,
      codec: got.codec.slice(0, 32),
      heard: (inbound.totalAudioEnergy || 0) > 0 || (inbound.audioLevel || 0) > 0
    };
  }

  // Samples the call's statistics while it lasts: every 20 ms until the first audio is
  // heard, then every second. The last sample is what is reported: once the call has
  // ended its peer connection is closed and has no statistics left.
  function measure(q) {
    (function poll() {
      if (!q.pc || q.ended) { return; }
      q.pc.getStats().then(function (stats) {
        var f = figures(stats);
        if (f) { q.last = f; }
        if (f && f.heard && q.firstAudioMs === null) {
          q.firstAudioMs = Math.round(performance.now() - q.answeredAt);
          root.setAttribute("data-first-audio-ms", String(q.firstAudioMs));
        }
        window.setTimeout(poll, q.firstAudioMs === null ? 20 : 1000);
      }).catch(function () { window.setTimeout(poll, 200); });
    }());
  }

  function report(q) {
    if (!q || !q.callId || q.answeredAt === null || !q.last) { return; }
    var body = { packets_received: q.last.packets_received, packets_lost: q.last.packets_lost,
                 jitter_ms: q.last.jitter_ms, rtt_ms: q.last.rtt_ms,
                 first_audio_ms: q.firstAudioMs, codec: q.last.codec };
    var url = root.getAttribute("data-quality").replace("CALL_ID", encodeURIComponent(q.callId));
    fetch(url, { method: "POST", credentials: "same-origin",
                 headers: { "Content-Type": "application/json",
                            "X-CSRF-Token": root.getAttribute("data-csrf") },
                 body: JSON.stringify(body), keepalive: true })
      .then(function (r) { root.setAttribute("data-quality-sent", r.ok ? "ok" : String(r.status)); })
      .catch(function () { root.setAttribute("data-quality-sent", "error"); });
  }

  // ---- the phone itself (phone tab only) ----
  function endCall() {
    var q = quality;
    quality = null;
    session = null;
    if (q) { q.ended = true; }
    report(q);
    $("wp-audio").srcObject = null;
    publish(idleState());
  }

  function attachAudio(pc) {
    pc.addEventListener("track", function (ev) {
      if (ev.streams && ev.streams[0]) { $("wp-audio").srcObject = ev.streams[0]; }
    });
  }

  function onSession(ev) {
    if (ev.originator !== "remote") { return; }
    if (session) { ev.session.terminate({ status_code: 486 }); return; }  // one call at a time
    session = ev.session;
    var who = session.remote_identity;
    quality = { callId: ev.request ? ev.request.getHeader("X-Centrala-Call-Id") : null,
                pc: null, answeredAt: null, firstAudioMs: null, last: null, ended: false };
    var q = quality;
    session.on("peerconnection", function (e) { q.pc = e.peerconnection; attachAudio(e.peerconnection); });
    if (session.connection) { q.pc = session.connection; attachAudio(session.connection); }
    function talking() {
      if (q.answeredAt === null) {
        q.answeredAt = performance.now();
        q.pc = q.pc || session.connection;
        measure(q);
      }
      publish({ state: "on_call" });
    }
    session.on("accepted", talking);
    session.on("confirmed", talking);
    session.on("hold", function () { publish({ state: "on_hold", held: true }); });
    session.on("unhold", function () { publish({ state: "on_call", held: false }); });
    session.on("ended", endCall);
    session.on("failed", endCall);
    var supervision = SUPERVISION_LEG.test(q.callId || "");
    answerOwnSupervision(session, q.callId);
    publish({ state: "ringing", label: null, muted: false, held: false, supervision: supervision,
              caller: who.uri ? who.uri.user : "",
              callerText: supervision ? text.supervision || "" :
                          (who.display_name ? who.display_name + " " : "") +
                          (who.uri && who.uri.user ? "<" + who.uri.user + ">" : "") });
  }

  // A supervisor's own session rings their phone because they just asked for it (a button of
  // the live calls page or the agents board): answered at once, as every second of ringing
  // is conversation missed (and in listen mode the server mutes them anyway). Only that
  // call, checked with the server first: the session in progress of this login, still
  // dialing, whose phone leg (sv<id>-sv-phone) the INVITE names; any other call rings.
  var SUPERVISION_LEG = /^sv(\d+)-sv-phone$/;  // controlplane/supervision/plan.py's phone leg

  function answerOwnSupervision(s, callId) {
    var found = SUPERVISION_LEG.exec(callId || ""), url = root.getAttribute("data-supervision");
    if (!found || !url) { return; }
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        var mine = b && b.session;
        if (!mine || mine.id !== Number(found[1]) || mine.state !== "dialing") { return; }
        if (session !== s || s.isEstablished() || s.isEnded()) { return; }
        ACTIONS.answer();
      })
      .catch(function () { /* it rings on: the supervisor answers it by hand */ });
  }

  var ACTIONS = {
    answer: function () { if (session) { session.answer({ mediaConstraints: { audio: true, video: false } }); } },
    hangup: function () { if (session) { session.terminate(); } },
    mute: function () {
      if (!session) { return; }
      var muted = session.isMuted().audio;
      if (muted) { session.unmute({ audio: true }); } else { session.mute({ audio: true }); }
      publish({ muted: !muted });
    },
    hold: function () {
      if (!session) { return; }
      if (session.isOnHold().local) { session.unhold(); } else { session.hold(); }
    },
    dtmf: function (digit) { if (session && digit) { session.sendDTMF(digit, { transportType: "RFC2833" }); } }
  };

  function act(name, arg) {
    if (holder) { ACTIONS[name](arg); } else if (bus) { bus.postMessage({ type: "act", name: name, arg: arg }); }
  }

  function register() {
    var socket = new JsSIP.WebSocketInterface(conf.ws_url);
    ua = new JsSIP.UA({
      sockets: [socket], uri: conf.sip_uri, authorization_user: conf.username,
      password: conf.password, display_name: conf.display_name, register: true,
      register_expires: 120, session_timers: false, user_agent: "Centrala webphone",
      connection_recovery_min_interval: 1, connection_recovery_max_interval: 3
    });
    var cut = false;
    ua.on("disconnected", function () {
      cut = true;
      if (!session) { publish({ state: "unregistered", label: null }); }
      root.setAttribute("data-network", "down");
    });
    ua.on("connected", function () {
      root.setAttribute("data-network", "up");
      if (cut && session && session.isEstablished()) {
        session.renegotiate({ rtcOfferConstraints: { iceRestart: true } }, function () {
          root.setAttribute("data-recovered", String(Date.now()));
        });
      }
      cut = false;
    });
    ua.on("registered", function () { if (!session) { publish({ state: "registered", label: null }); } });
    ua.on("unregistered", function () { if (!session) { publish({ state: "unregistered", label: null }); } });
    ua.on("registrationFailed", function () { if (!session) { publish({ state: "failed", label: null }); } });
    ua.on("newRTCSession", onSession);
    ua.start();
  }

  function unregister() {
    if (session) { session.terminate(); }
    if (ua) { ua.stop(); ua = null; }
  }

  // ---- preflight (phone tab only) ----
  var PREFLIGHT_MIN_LEVEL = 0.01;  // RMS of the samples heard (full scale 1.0)

  function preflightKey() { return "centrala-preflight:" + conf.username; }
  function today() { return new Date().toISOString().slice(0, 10); }
  function preflightPassed() {
    try { return window.localStorage.getItem(preflightKey()) === today(); } catch (e) { return true; }
  }

  function level(stream, ms) {  // the loudest RMS of ``stream`` over ``ms``
    var ctx = new (window.AudioContext || window.webkitAudioContext)();
    var an = ctx.createAnalyser();
    an.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(an);
    var data = new Float32Array(an.fftSize), loudest = 0, until = performance.now() + ms;
    return new Promise(function (resolve) {
      (function sample() {
        an.getFloatTimeDomainData(data);
        var sum = 0;
        for (var i = 0; i < data.length; i++) { sum += data[i] * data[i]; }
        loudest = Math.max(loudest, Math.sqrt(sum / data.length));
        if (performance.now() < until) { window.setTimeout(sample, 50); return; }
        ctx.close();
        resolve(loudest);
      }());
    });
  }

  function gate() {  // the queue log-in and ready buttons wait for a passed preflight
    var ok = preflightPassed();
    if (root.getAttribute("data-gate") !== "queues") {  // a supervisor's page: no queues here
      root.setAttribute("data-preflight", ok ? "passed" : (root.getAttribute("data-preflight") || "needed"));
      return;
    }
    document.querySelectorAll("form input[name=command]").forEach(function (input) {
      if (input.value !== "login" && input.value !== "ready") { return; }
      var button = input.form && input.form.querySelector("button");
      if (button) { button.disabled = !ok; button.title = ok ? "" : (text.preflight_first || ""); }
    });
    show("wp-preflight-needed", !ok);
    root.setAttribute("data-preflight", ok ? "passed" : (root.getAttribute("data-preflight") || "needed"));
  }

  function preflightResult(state, message) {
    root.setAttribute("data-preflight", state);
    $("wp-preflight-result").textContent = message || "";
  }

  function preflight() {
    if (!holder || !ua || session) { return; }
    preflightResult("running", text.preflight_mic);
    navigator.mediaDevices.getUserMedia({ audio: true, video: false }).then(function (mic) {
      return level(mic, 1500).then(function (heard) {
        mic.getTracks().forEach(function (t) { t.stop(); });
        if (heard < PREFLIGHT_MIN_LEVEL) { throw new Error(text.preflight_silent_mic); }
        preflightResult("running", text.preflight_echo);
        return echoTest();
      });
    }).then(function () {
      try { window.localStorage.setItem(preflightKey(), today()); } catch (e) { /* private mode */ }
      preflightResult("passed", text.preflight_ok);
      gate();
    }).catch(function (e) {
      preflightResult("failed", (e && e.message) || text.preflight_failed);
    });
  }

  function echoTest() {  // resolves once our own voice came back through Asterisk
    return new Promise(function (resolve, reject) {
      var target = "sip:*43@" + conf.sip_uri.split("@")[1], done = false;
      var call = ua.call(target, { mediaConstraints: { audio: true, video: false } });
      function finish(err) {
        if (done) { return; }
        done = true;
        if (!call.isEnded()) { call.terminate(); }
        if (err) { reject(err); } else { resolve(); }
      }
      call.on("failed", function () { finish(new Error(text.preflight_failed)); });
      call.on("confirmed", function () {
        var receivers = call.connection.getReceivers().filter(function (r) { return r.track && r.track.kind === "audio"; });
        if (!receivers.length) { finish(new Error(text.preflight_silent_echo)); return; }
        // the agent hears their own voice (the point of an echo test); Chromium also feeds
        // a remote stream to WebAudio only while a media element plays it
        var echo = new MediaStream([receivers[0].track]);
        $("wp-audio").srcObject = echo;
        level(echo, 2500).then(function (heard) {
          $("wp-audio").srcObject = null;
          finish(heard < PREFLIGHT_MIN_LEVEL ? new Error(text.preflight_silent_echo) : null);
        });
      });
      window.setTimeout(function () { finish(new Error(text.preflight_failed)); }, 15000);
    });
  }

  // ---- which tab holds the phone ----
  function lockName() { return "centrala-webphone:" + conf.username; }

  function hold() {  // called with the lock: this tab is the phone until it is taken
    holder = true;
    publish({ state: "starting", label: null });
    register();
    return new Promise(function () { /* held until the tab closes or another steals it */ });
  }

  function wait(steal) {
    var id = ++requests, options = {};
    if (steal) { options.steal = true; } else { queued = new AbortController(); options.signal = queued.signal; }
    navigator.locks.request(lockName(), options, function () { heldBy = id; return hold(); }).catch(function () {
      if (heldBy !== id) { return; }  // a wait given up for a take-over, not the phone
      heldBy = 0;  // another tab took the phone over: let it go and wait again
      holder = false;
      unregister();
      publish({ state: "elsewhere", label: null });
      wait(false);
    });
  }

  function takeOver() {
    if (holder || !navigator.locks) { return; }
    if (queued) { queued.abort(); queued = null; }
    wait(true);
  }

  function elect() {
    if (!navigator.locks || !window.BroadcastChannel) { holder = true; register(); return; }
    bus = new BroadcastChannel(lockName());
    bus.onmessage = function (ev) {
      var m = ev.data || {};
      if (m.type === "state" && !holder) {
        view = m.view; render();
      } else if (m.type === "hello" && holder) {
        bus.postMessage({ type: "state", view: view });
      } else if (m.type === "act" && holder && ACTIONS[m.name]) {
        ACTIONS[m.name](m.arg);
      }
    };
    view.state = "elsewhere";
    render();
    bus.postMessage({ type: "hello" });
    wait(false);
  }

  function pollServer() {
    fetch(root.getAttribute("data-status"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s || !s.webphone) { return; }
        var on = s.registration === "registered";
        root.setAttribute("data-server", on ? "registered" : "unregistered");
        $("wp-server").textContent = text[on ? "server_registered" : "server_unregistered"];
      })
      .catch(function () { /* the next poll tries again */ });
  }

  $("wp-answer").addEventListener("click", function () { act("answer"); });
  $("wp-hangup").addEventListener("click", function () { act("hangup"); });
  $("wp-mute").addEventListener("click", function () { act("mute"); });
  $("wp-hold").addEventListener("click", function () { act("hold"); });
  $("wp-takeover").addEventListener("click", takeOver);
  $("wp-preflight").addEventListener("click", preflight);
  $("wp-keypad").addEventListener("click", function (ev) {
    var digit = ev.target.getAttribute && ev.target.getAttribute("data-dtmf");
    if (digit) { act("dtmf", digit); }
  });
  window.addEventListener("beforeunload", function () { if (holder) { unregister(); } });

  render();
  fetch(root.getAttribute("data-config"), { credentials: "same-origin" })
    .then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error((body.error && body.error.message) || text.no_config); }
        return body;
      });
    })
    .then(function (c) {
      conf = c; gate(); elect(); pollServer(); window.setInterval(pollServer, 5000);
      window.addEventListener("storage", gate);  // another tab passed it
    })
    .catch(function (e) { publish({ state: "unregistered", label: text.no_config }); error(e.message); });
}());
