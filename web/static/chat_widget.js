// Centrala's chat widget: <script src="https://<panel>/chat/widget.js" data-key="…" async></script>
// Plain JS in a Shadow DOM (the website's styles cannot reach in, ours cannot leak out).
// The chat's public id (the visitor's secret) is kept in localStorage, so a reload or a
// dropped connection resumes the same chat; messages are kept by seq (never shown twice)
// and the stream resumes after the last seq seen (?after= and Last-Event-ID).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.key) { return; }
  var key = script.dataset.key;
  var base = new URL(script.src).origin;
  var api = base + "/chat/api";
  var store = "centrala-chat:" + key;
  var visitorKey = "centrala-chat-visitor";
  var lang = (navigator.language || "pl").slice(0, 2) === "en" ? "en" : "pl";
  var T = {
    pl: {open: "Czat", close: "Zamknij czat", minimize: "Zwiń", title: "Porozmawiaj z nami",
         name: "Imię", email: "E-mail", phone: "Telefon", message: "Wiadomość", start: "Rozpocznij czat",
         send: "Wyślij", leave: "Zakończ czat", waiting: "Czekasz na konsultanta…",
         joined: "Konsultant dołączył do rozmowy.", ended: "Rozmowa zakończona.",
         typing: "Konsultant pisze…", offline: "Czat jest teraz nieczynny. Zostaw wiadomość, odpowiemy.",
         leaveMsg: "Wyślij wiadomość", sent: "Dziękujemy, odpowiemy najszybciej, jak to możliwe.",
         survey: "Jak oceniasz rozmowę?", comment: "Komentarz (opcjonalnie)", rate: "Oceń",
         thanks: "Dziękujemy za ocenę!", required: "To pole jest wymagane", error: "Coś poszło nie tak, spróbuj ponownie.",
         greeting: "Dzień dobry! W czym możemy pomóc?", end: "Zakończ", you: "Ty", agent: "Konsultant", stars: "gwiazdki"},
    en: {open: "Chat", close: "Close chat", minimize: "Minimise", title: "Chat with us",
         name: "Name", email: "E-mail", phone: "Phone", message: "Message", start: "Start chat",
         send: "Send", leave: "End chat", waiting: "Waiting for an agent…",
         joined: "An agent joined the chat.", ended: "The chat has ended.",
         typing: "The agent is typing…", offline: "The chat is closed now. Leave a message and we will reply.",
         leaveMsg: "Send message", sent: "Thank you, we will reply as soon as we can.",
         survey: "How was the chat?", comment: "Comment (optional)", rate: "Rate",
         thanks: "Thank you for rating!", required: "This field is required", error: "Something went wrong, please try again.",
         greeting: "Hello! How can we help?", end: "End", you: "You", agent: "Agent", stars: "stars"}
  }[lang];

  var returning = !!localStorage.getItem(visitorKey);
  if (!returning) {
    var rnd = new Uint8Array(12);
    crypto.getRandomValues(rnd);
    localStorage.setItem(visitorKey, Array.prototype.map.call(rnd, function (b) { return ("0" + b.toString(16)).slice(-2); }).join(""));
  }
  var identity = null;
  try { identity = script.dataset.identity ? JSON.parse(script.dataset.identity) : null; } catch (e) { identity = null; }

  var host = document.createElement("div");
  host.id = "centrala-chat";
  var root = host.attachShadow({mode: "open"});
  var css = ":host{all:initial}*{box-sizing:border-box;font-family:system-ui,sans-serif;font-size:14px}" +
    ".launch{position:fixed;right:20px;bottom:20px;border:0;border-radius:24px;padding:12px 20px;color:#fff;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3);z-index:2147483646}" +
    ".box{position:fixed;right:20px;bottom:20px;width:340px;max-width:calc(100vw - 40px);height:480px;max-height:calc(100vh - 40px);background:#fff;color:#222;border-radius:10px;box-shadow:0 4px 24px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden;z-index:2147483647}" +
    ".head{color:#fff;padding:10px 12px;display:flex;justify-content:space-between;align-items:center}.head h2{margin:0;font-size:16px}" +
    ".head button{background:none;border:0;color:#fff;font-size:18px;cursor:pointer}" +
    ".body{flex:1;overflow-y:auto;padding:10px}.log{list-style:none;margin:0;padding:0}" +
    ".log li{margin:6px 0;padding:6px 10px;border-radius:10px;max-width:80%;white-space:pre-wrap;word-wrap:break-word}" +
    ".log li.visitor{margin-left:auto;background:#e8f0fe}.log li.agent{background:#f1f1f1}.log li.system{color:#666;font-style:italic;text-align:center;max-width:none}" +
    ".who{display:block;font-size:11px;color:#666}form{display:flex;flex-direction:column;gap:8px}label{display:flex;flex-direction:column;gap:2px}" +
    "input,textarea{border:1px solid #bbb;border-radius:6px;padding:6px}button.main{border:0;border-radius:6px;padding:8px;color:#fff;cursor:pointer}" +
    ".foot{border-top:1px solid #ddd;padding:8px;display:flex;gap:6px}.foot textarea{flex:1;resize:none}.typing{color:#666;font-size:12px;min-height:16px;padding:0 10px}" +
    ".err{color:#b00020;font-size:12px}.stars{display:flex;gap:4px}.stars button{font-size:22px;background:none;border:0;cursor:pointer;color:#bbb}.stars button.on{color:#f5a623}" +
    ".end{border:1px solid #bbb;border-radius:6px;background:#fff;color:#333;cursor:pointer;font-size:12px}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";
  root.innerHTML = "<style>" + css + "</style>";
  var cfg = null, chat = localStorage.getItem(store), seen = {}, lastSeq = 0, es = null;
  var box, body, log, foot, typingLine;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }
  function call(method, path, payload) {
    return fetch(api + path, {method: method, headers: payload ? {"Content-Type": "application/json"} : {},
                              body: payload ? JSON.stringify(payload) : undefined, mode: "cors", credentials: "omit"})
      .then(function (r) { return r.json().then(function (d) { if (!r.ok) { var e = new Error((d.error && d.error.message) || T.error); e.doc = d; e.status = r.status; throw e; } return d; }); });
  }

  function launcher() {
    var b = el("button", {"class": "launch", type: "button", "aria-label": cfg.title || T.title}, T.open);
    b.style.background = cfg.color;
    b.addEventListener("click", function () { b.remove(); openBox(); });
    root.appendChild(b);
    if (chat) { b.click(); }
  }

  function openBox() {
    box = el("div", {"class": "box", role: "dialog", "aria-label": cfg.title || T.title});
    var head = el("div", {"class": "head"});
    head.style.background = cfg.color;
    head.appendChild(el("h2", {}, cfg.title || T.title));
    var x = el("button", {type: "button", "aria-label": T.minimize, title: T.minimize}, "×");
    x.addEventListener("click", function () { box.remove(); if (es) { es.close(); es = null; } launcher(); });
    head.appendChild(x);
    body = el("div", {"class": "body"});
    log = el("ol", {"class": "log", "aria-live": "polite"});
    body.appendChild(log);
    typingLine = el("div", {"class": "typing", "aria-live": "polite"});
    foot = el("div", {"class": "foot"});
    box.appendChild(head); box.appendChild(body); box.appendChild(typingLine); box.appendChild(foot);
    root.appendChild(box);
    if (chat) { conversation(); } else if (cfg.open) { preChat(); } else { offlineForm(); }
  }

  function field(form, name, label, kind, mode) {
    if (mode === "off") { return; }
    var l = el("label", {}, label + (mode === "required" ? " *" : ""));
    var i = el(kind === "textarea" ? "textarea" : "input", {name: name, "aria-required": mode === "required" ? "true" : "false"});
    if (kind !== "textarea") { i.type = kind; }
    if (mode === "required") { i.required = true; }
    l.appendChild(i);
    l.appendChild(el("span", {"class": "err", "data-for": name}));
    form.appendChild(l);
  }
  function formValues(form) {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("input,textarea"), function (i) { out[i.name] = i.value.trim(); });
    return out;
  }
  function showErrors(form, err) {
    var d = err.doc && err.doc.error && err.doc.error.details, f = d && (d.field || d.parameter);
    var span = f && form.querySelector('[data-for="' + f + '"]');
    if (span) { span.textContent = d.message || err.message; } else { form.querySelector(".err.form").textContent = err.message; }
  }

  function greet() {
    line({seq: 0, author: "agent", body: cfg.greeting || T.greeting, name: cfg.title || ""});
  }

  function preChat() {
    greet();
    var form = el("form", {novalidate: ""});
    field(form, "name", T.name, "text", cfg.fields.name);
    field(form, "email", T.email, "email", cfg.fields.email);
    field(form, "phone", T.phone, "tel", cfg.fields.phone);
    field(form, "message", T.message, "textarea", "optional");
    form.appendChild(el("span", {"class": "err form", role: "alert"}));
    var go = el("button", {"class": "main", type: "submit"}, T.start);
    go.style.background = cfg.color;
    form.appendChild(go);
    body.appendChild(form);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var v = formValues(form);
      v.visitor = localStorage.getItem(visitorKey) || ""; v.returning = returning; v.page = location.href.slice(0, 1000);
      if (identity) { v.identity = identity; }
      call("POST", "/w/" + key + "/chats", v).then(function (d) {
        chat = d.chat; localStorage.setItem(store, chat); form.remove(); log.textContent = ""; seen = {};
        if (d.greeting) { cfg.greeting = d.greeting; }
        conversation();
      }).catch(function (err) { showErrors(form, err); });
    });
    form.querySelector("input,textarea").focus();
  }

  function offlineForm() {
    line({seq: 0, author: "system", body: T.offline});
    var form = el("form", {novalidate: ""});
    field(form, "name", T.name, "text", cfg.fields.name);
    field(form, "email", T.email, "email", cfg.fields.email === "off" ? "optional" : cfg.fields.email);
    field(form, "phone", T.phone, "tel", cfg.fields.phone);
    field(form, "message", T.message, "textarea", "required");
    form.appendChild(el("span", {"class": "err form", role: "alert"}));
    var go = el("button", {"class": "main", type: "submit"}, T.leaveMsg);
    go.style.background = cfg.color;
    form.appendChild(go);
    body.appendChild(form);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      call("POST", "/w/" + key + "/offline", formValues(form)).then(function () {
        form.remove(); line({seq: 0, author: "system", body: T.sent});
      }).catch(function (err) { showErrors(form, err); });
    });
  }

  function line(msg) {
    if (msg.seq && seen[msg.seq]) { return; }
    if (msg.seq) { seen[msg.seq] = true; lastSeq = Math.max(lastSeq, msg.seq); }
    var li = el("li", {"class": msg.author, "data-seq": String(msg.seq || 0)});
    if (msg.author !== "system") {
      li.appendChild(el("span", {"class": "who"}, msg.author === "visitor" ? T.you : (msg.name || T.agent)));
    }
    li.appendChild(document.createTextNode(msg.body));
    log.appendChild(li);
    body.scrollTop = body.scrollHeight;
  }

  function conversation() {
    greet();
    var area = el("textarea", {rows: "2", maxlength: "4000", "aria-label": T.message, placeholder: T.message});
    var send = el("button", {"class": "main", type: "button"}, T.send);
    send.style.background = cfg.color;
    var leave = el("button", {"class": "end", type: "button", title: T.leave}, T.end);
    foot.textContent = "";
    foot.appendChild(area); foot.appendChild(send); foot.appendChild(leave);
    var lastTyping = 0;
    function submit() {
      var text = area.value.trim();
      if (!text) { return; }
      send.disabled = true;
      call("POST", "/chats/" + chat + "/messages", {body: text}).then(function (d) {
        area.value = ""; line({seq: d.seq, author: "visitor", body: text});
      }).catch(function (err) { line({seq: 0, author: "system", body: err.message}); })
        .then(function () { send.disabled = false; area.focus(); });
    }
    send.addEventListener("click", submit);
    area.addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); } });
    area.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 3000) { lastTyping = now; call("POST", "/chats/" + chat + "/typing", {typing: true}).catch(function () {}); }
    });
    leave.addEventListener("click", function () {
      call("POST", "/chats/" + chat + "/leave", {}).catch(function () {});
      finish();
    });
    area.focus();
    listen();
  }

  function listen() {
    if (es) { es.close(); }
    es = new EventSource(api + "/chats/" + chat + "/stream?after=" + lastSeq);
    es.addEventListener("message", function (e) {
      var d = JSON.parse(e.data);
      line(d);
      if (d.author !== "visitor") { typingLine.textContent = ""; }
    });
    es.addEventListener("typing", function (e) {
      var d = JSON.parse(e.data);
      if (d.author === "agent") {
        typingLine.textContent = d.typing ? T.typing : "";
        clearTimeout(listen.timer);
        listen.timer = setTimeout(function () { typingLine.textContent = ""; }, 6000);
      }
    });
    es.addEventListener("state", function (e) {
      var d = JSON.parse(e.data);
      if (d.status === "ended" || d.status === "missed") { finish(d.survey_done); }
      else if (d.status === "active") { Array.prototype.forEach.call(log.querySelectorAll(".waiting"), function (w) { w.remove(); }); }
      else if (d.status !== "active" && !log.querySelector(".waiting")) {
        var li = el("li", {"class": "system waiting"}, T.waiting); log.appendChild(li);
      }
    });
    es.addEventListener("chat", function (e) {
      var d = JSON.parse(e.data);
      if (d.type === "chat.assigned") {
        Array.prototype.forEach.call(log.querySelectorAll(".waiting"), function (w) { w.remove(); });
        line({seq: 0, author: "system", body: T.joined});
      }
    });
    es.addEventListener("error", function () {
      // The browser reconnects by itself (Last-Event-ID); a closed stream is reopened
      // after the last seq seen.
      if (es && es.readyState === 2) { setTimeout(listen, 2000); }
    });
  }

  function finish(surveyDone) {
    if (es) { es.close(); es = null; }
    line({seq: 0, author: "system", body: T.ended});
    foot.textContent = "";
    var id = chat;
    localStorage.removeItem(store);
    chat = null;
    if (cfg.survey && !surveyDone && id) { survey(id); }
  }

  function survey(id) {
    var form = el("form", {});
    form.appendChild(el("span", {}, T.survey));
    var stars = el("div", {"class": "stars", role: "radiogroup", "aria-label": T.survey}), score = 0;
    for (var i = 1; i <= 5; i++) {
      (function (n) {
        var b = el("button", {type: "button", role: "radio", "aria-checked": "false", "aria-label": n + " " + T.stars}, "★");
        b.addEventListener("click", function () {
          score = n;
          Array.prototype.forEach.call(stars.children, function (s, k) { s.className = k < n ? "on" : ""; s.setAttribute("aria-checked", k + 1 === n ? "true" : "false"); });
        });
        stars.appendChild(b);
      })(i);
    }
    form.appendChild(stars);
    var c = el("textarea", {rows: "2", maxlength: "2000", "aria-label": T.comment, placeholder: T.comment});
    form.appendChild(c);
    var go = el("button", {"class": "main", type: "submit"}, T.rate);
    go.style.background = cfg.color;
    form.appendChild(go);
    body.appendChild(form);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!score) { return; }
      call("POST", "/chats/" + id + "/survey", {score: score, comment: c.value.trim()}).then(function () {
        form.remove(); line({seq: 0, author: "system", body: T.thanks});
      }).catch(function () { form.remove(); });
    });
  }

  function start() {
    document.body.appendChild(host);
    call("GET", "/w/" + key + "/config?returning=" + (returning ? "true" : "false")).then(function (d) {
      cfg = d; launcher();
    }).catch(function () { host.remove(); });
  }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
