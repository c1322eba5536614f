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
(function () {
  "use strict";
  var root = document.getElementById("webphone");
  if (!root || !window.JsSIP) { return; }
  var text = JSON.parse(root.getAttribute("data-text") || "{}");
  var $ = function (id) { return document.getElementById(id); };
  var ua = null, session = null;

  function show(id, on) { $(id).hidden = !on; }
  function setState(state, label, cls) {
    root.setAttribute("data-state", state);
    var badge = $("wp-state");
    badge.textContent = label || text[state] || state;
    badge.className = "badge" + (cls ? " " + cls : "");
  }
  function error(message) { var e = $("wp-error"); e.textContent = message || ""; e.hidden = !message; }

  function callControls(state) {
    var ringing = state === "ringing", live = state === "on_call" || state === "on_hold";
    show("wp-call", ringing || live);
    show("wp-answer", ringing);
    show("wp-hangup", ringing || live);
    show("wp-mute", live);
    show("wp-hold", live);
    show("wp-keypad", live);
  }

  function toggleLabel(button, on) {
    button.textContent = button.getAttribute(on ? "data-on" : "data-off");
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function registeredState() {
    return ua && ua.isRegistered() ? ["registered", null, "ok"] : ["unregistered", null, "bad"];
  }

  function endCall() {
    session = null;
    $("wp-audio").srcObject = null;
    callControls("idle");
    var st = registeredState();
    setState(st[0], st[1], st[2]);
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
    $("wp-caller").textContent = (who.display_name ? who.display_name + " " : "") +
      (who.uri && who.uri.user ? "<" + who.uri.user + ">" : "");
    root.setAttribute("data-caller", who.uri ? who.uri.user : "");
    session.on("peerconnection", function (e) { attachAudio(e.peerconnection); });
    session.on("accepted", function () { setState("on_call", null, "ok"); callControls("on_call"); });
    session.on("confirmed", function () { setState("on_call", null, "ok"); callControls("on_call"); });
    session.on("hold", function () { setState("on_hold", null, "warn"); });
    session.on("unhold", function () { setState("on_call", null, "ok"); });
    session.on("ended", endCall);
    session.on("failed", endCall);
    setState("ringing", null, "warn");
    callControls("ringing");
  }

  function start(conf) {
    var socket = new JsSIP.WebSocketInterface(conf.ws_url);
    ua = new JsSIP.UA({
      sockets: [socket], uri: conf.sip_uri, authorization_user: conf.username,
      password: conf.password, display_name: conf.display_name, register: true,
      register_expires: 120, session_timers: false, user_agent: "Centrala webphone"
    });
    ua.on("registered", function () { if (!session) { setState("registered", null, "ok"); } });
    ua.on("unregistered", function () { if (!session) { setState("unregistered", null, "bad"); } });
    ua.on("registrationFailed", function () { if (!session) { setState("failed", null, "bad"); } });
    ua.on("newRTCSession", onSession);
    ua.start();
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

  $("wp-answer").addEventListener("click", function () {
    if (!session) { return; }
    session.answer({ mediaConstraints: { audio: true, video: false } });
  });
  $("wp-hangup").addEventListener("click", function () { if (session) { session.terminate(); } });
  $("wp-mute").addEventListener("click", function () {
    if (!session) { return; }
    var muted = session.isMuted().audio;
    if (muted) { session.unmute({ audio: true }); } else { session.mute({ audio: true }); }
    toggleLabel(this, !muted);
  });
  $("wp-hold").addEventListener("click", function () {
    if (!session) { return; }
    var held = session.isOnHold().local;
    if (held) { session.unhold(); } else { session.hold(); }
    toggleLabel(this, !held);
  });
  $("wp-keypad").addEventListener("click", function (ev) {
    var digit = ev.target.getAttribute && ev.target.getAttribute("data-dtmf");
    if (session && digit) { session.sendDTMF(digit, { transportType: "RFC2833" }); }
  });
  window.addEventListener("beforeunload", function () { if (ua) { ua.stop(); } });

  setState("starting");
  fetch(root.getAttribute("data-config"), { credentials: "same-origin" })
    .then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error((body.error && body.error.message) || text.no_config); }
        return body;
      });
    })
    .then(function (conf) { start(conf); pollServer(); window.setInterval(pollServer, 5000); })
    .catch(function (e) { setState("unregistered", text.no_config, "bad"); error(e.message); });
}());
