// The agent's chat console (/agent/chats) and the supervisors' read-only watch.
// One EventSource per page; every chat keeps its messages by seq, so a reconnect (which
// re-sends held chats whole) never shows a line twice.
(function () {
  "use strict";
  var texts = document.getElementById("chat-texts");
  function t(name) { return texts ? texts.getAttribute("data-" + name) || "" : ""; }

  function line(log, seen, msg) {
    if (seen[msg.seq]) { return; }
    seen[msg.seq] = true;
    var li = document.createElement("li");
    li.className = msg.author;
    li.dataset.seq = msg.seq;
    if (msg.author !== "system") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = msg.author === "agent" ? (msg.name || t("you")) : t("visitor");
      li.appendChild(who);
    }
    li.appendChild(document.createTextNode(msg.body));
    // keep order by seq even when a gap is filled late
    var after = null;
    Array.prototype.forEach.call(log.children, function (el) {
      if (Number(el.dataset.seq) > msg.seq && after === null) { after = el; }
    });
    log.insertBefore(li, after);
    log.scrollTop = log.scrollHeight;
  }

  // ---- supervisors' watch ----
  var watch = document.getElementById("chat-watch");
  if (watch) {
    var wlog = watch.querySelector(".chat-log"), wseen = {};
    var ws = new EventSource(watch.dataset.stream);
    ws.addEventListener("message", function (e) { line(wlog, wseen, JSON.parse(e.data)); });
    ws.addEventListener("typing", function (e) {
      var d = JSON.parse(e.data), p = watch.querySelector(".chat-typing");
      p.hidden = !d.typing;
    });
    ws.addEventListener("chat", function (e) {
      if (JSON.parse(e.data).type === "chat.ended") {
        line(wlog, wseen, {seq: 1e9, author: "system", body: t("ended")});
      }
    });
  }

  var list = document.getElementById("chat-watch-list");
  if (list) {
    var refresh = function () {
      fetch(list.dataset.api, {credentials: "same-origin"}).then(function (r) { return r.json(); })
        .then(function (doc) {
          var body = list.querySelector("tbody");
          body.textContent = "";
          (doc.chats || []).forEach(function (c) {
            var tr = document.createElement("tr");
            [c.visitor_name || t("anonymous"), t("status-" + c.status) || c.status, c.agent || "—"].forEach(function (v) {
              var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
            });
            var td = document.createElement("td"), a = document.createElement("a");
            a.href = list.dataset.watch + c.id + "/watch"; a.textContent = t("watch");
            td.appendChild(a); tr.appendChild(td); body.appendChild(tr);
          });
        }).catch(function () {});
    };
    refresh();
    setInterval(refresh, 15000);
  }

  // ---- the agent's console ----
  var root = document.getElementById("chat-console");
  if (!root) { return; }
  var api = root.dataset.api, csrf = root.dataset.csrf;
  var tabs = root.querySelector(".chat-tabs"), panes = root.querySelector(".chat-panes");
  var offers = root.querySelector(".chat-offers"), empty = root.querySelector(".chat-empty");
  var errorBox = root.querySelector(".chat-error");
  var chats = {}, current = null;

  function post(path, body) {
    return fetch(api + path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (doc) {
        if (!r.ok) { throw new Error((doc.error && doc.error.message) || r.status); }
        return doc;
      });
    }).catch(function (err) { errorBox.textContent = err.message; errorBox.hidden = false; throw err; });
  }

  function select(id) {
    current = id;
    Object.keys(chats).forEach(function (k) {
      var c = chats[k], on = Number(k) === id;
      c.tab.setAttribute("aria-selected", on ? "true" : "false");
      c.pane.hidden = !on;
      if (on) { c.unread = 0; badge(c); }
    });
  }

  function badge(c) {
    c.count.textContent = c.unread ? String(c.unread) : "";
    c.count.hidden = !c.unread;
  }

  function fill(body, c) {
    return body.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, function (m, name) {
      var values = {visitor_name: c.info.visitor_name, visitor_email: c.info.visitor_email,
                    visitor_phone: c.info.visitor_phone, agent_name: root.dataset.me};
      return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : m;
    });
  }

  function open(info, messages) {
    var c = chats[info.id];
    if (!c) {
      var pane = document.getElementById("chat-pane-template").content.firstElementChild.cloneNode(true);
      var tab = document.createElement("button");
      tab.type = "button"; tab.setAttribute("role", "tab");
      tab.textContent = info.visitor_name || t("anonymous") || ("#" + info.id);
      var count = document.createElement("span"); count.className = "unread"; count.hidden = true;
      tab.appendChild(count);
      tabs.appendChild(tab); panes.appendChild(pane);
      c = chats[info.id] = {info: info, pane: pane, tab: tab, count: count, unread: 0, seen: {},
                            log: pane.querySelector(".chat-log"), typingTimer: null, sentTyping: 0};
      pane.querySelector(".chat-visitor").textContent = info.visitor_name || t("anonymous");
      pane.querySelector(".chat-meta").textContent = [info.visitor_email, info.visitor_phone, info.page].filter(Boolean).join(" · ");
      tab.addEventListener("click", function () { select(info.id); });
      var area = pane.querySelector("textarea");
      pane.querySelector(".chat-send").addEventListener("submit", function (e) {
        e.preventDefault();
        var text = area.value.trim();
        if (!text) { return; }
        post("/" + info.id + "/messages", {body: text}).then(function (doc) {
          area.value = ""; line(c.log, c.seen, doc.message);
        });
      });
      area.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); pane.querySelector(".chat-send button").click(); }
      });
      area.addEventListener("input", function () {
        var now = Date.now();
        if (now - c.sentTyping > 3000) { c.sentTyping = now; post("/" + info.id + "/typing", {typing: true}).catch(function () {}); }
      });
      pane.querySelector(".chat-canned").addEventListener("change", function (e) {
        if (e.target.value) { area.value = fill(e.target.value, c); area.focus(); e.target.value = ""; }
      });
      pane.querySelector(".chat-end").addEventListener("click", function () { post("/" + info.id + "/end"); });
      pane.querySelector(".chat-transfer").addEventListener("click", function () {
        var target = pane.querySelector(".chat-transfer-target").value.trim();
        if (target) { post("/" + info.id + "/transfer", {target: target}); }
      });
    }
    (messages || []).forEach(function (m) { line(c.log, c.seen, m); });
    empty.hidden = true;
    if (current === null || !chats[current]) { select(info.id); } else { select(current); }
    return c;
  }

  function close(id, text) {
    var c = chats[id];
    if (!c) { return; }
    line(c.log, c.seen, {seq: 1e9, author: "system", body: text});
    c.pane.querySelector(".chat-send button").disabled = true;
    c.pane.querySelector(".chat-end").disabled = true;
  }

  var es = new EventSource(root.dataset.events);
  // (Re)connected: the server has just sent every chat held and offer pending; what is not
  // among them ended while the stream was down (a network blip, the laptop asleep).
  es.addEventListener("ready", function (e) {
    var d = JSON.parse(e.data), held = d.held || [], pending = d.offers || [];
    Array.prototype.forEach.call(offers.querySelectorAll("[data-chat]"), function (el) {
      if (pending.indexOf(Number(el.dataset.chat)) < 0) { el.remove(); }
    });
    Object.keys(chats).forEach(function (k) {
      if (held.indexOf(Number(k)) < 0) { close(Number(k), t("ended")); }
    });
    root.dataset.ready = "1";
  });
  es.addEventListener("offer", function (e) {
    var d = JSON.parse(e.data);
    if (offers.querySelector('[data-chat="' + d.chat.id + '"]')) { return; }  // replayed
    var el = document.getElementById("chat-offer-template").content.firstElementChild.cloneNode(true);
    el.dataset.chat = d.chat.id;
    el.querySelector(".chat-offer-who").textContent = d.chat.visitor_name || t("anonymous");
    el.querySelector(".chat-accept").addEventListener("click", function () {
      post("/" + d.chat.id + "/accept").then(function () { el.remove(); });
    });
    el.querySelector(".chat-decline").addEventListener("click", function () {
      post("/" + d.chat.id + "/decline").then(function () { el.remove(); });
    });
    offers.appendChild(el);
    el.querySelector(".chat-accept").focus();
  });
  es.addEventListener("withdrawn", function (e) {
    var d = JSON.parse(e.data), el = offers.querySelector('[data-chat="' + d.chat_id + '"]');
    if (el) { el.remove(); }
  });
  es.addEventListener("chat", function (e) {
    var d = JSON.parse(e.data), el = offers.querySelector('[data-chat="' + d.chat.id + '"]');
    if (el) { el.remove(); }
    open(d.chat, d.messages);
  });
  es.addEventListener("message", function (e) {
    var d = JSON.parse(e.data), c = chats[d.chat_id];
    if (!c) { return; }
    var before = Object.keys(c.seen).length;
    line(c.log, c.seen, d);
    if (Object.keys(c.seen).length > before && d.chat_id !== current) { c.unread += 1; badge(c); }
    if (d.author === "visitor") { c.pane.querySelector(".chat-typing").hidden = true; }
  });
  es.addEventListener("typing", function (e) {
    var d = JSON.parse(e.data), c = chats[d.chat_id];
    if (!c || d.author !== "visitor") { return; }
    var p = c.pane.querySelector(".chat-typing");
    p.hidden = !d.typing;
    clearTimeout(c.typingTimer);
    c.typingTimer = setTimeout(function () { p.hidden = true; }, 6000);
  });
  es.addEventListener("ended", function (e) { close(JSON.parse(e.data).chat_id, t("ended")); });
  es.addEventListener("gone", function (e) { close(JSON.parse(e.data).chat_id, t("ended")); });
})();
