// E-mail (ticket) offers of the live ACD for this agent: a box with a countdown, accept
// (then the ticket opens) and decline. The offers come in the desktop card
// (/agent/interaction/stream: desktop.js calls TicketOffers.paint) or, on a page without
// the desktop, from the same stream read here (data-stream). No polling; textContent only.
"use strict";
(function () {
  const box = document.getElementById("ticket-offers");
  if (!box) return;
  const words = JSON.parse(box.dataset.text || "{}");
  const list = document.getElementById("ticket-offer-list");
  const row = document.getElementById("ticket-offer-row");
  let deadlines = {};

  function say(text) {
    const el = document.getElementById("ticket-offer-error");
    el.textContent = text || "";
    el.hidden = !text;
  }
  function act(id, action) {
    const url = box.dataset.act.replace("TICKET_ID", id).replace("ACTION", action);
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "X-CSRF-Token": box.dataset.csrf } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error((body.error && body.error.message) || String(r.status));
          return body;
        });
      });
  }
  function tick() {
    const now = Date.now();
    list.querySelectorAll("li[data-ticket]").forEach(function (li) {
      const left = Math.max(0, Math.ceil((deadlines[li.dataset.ticket] - now) / 1000));
      li.querySelector(".ticket-offer-left").textContent = (words.left || "{s}").replace("{s}", left);
      if (left <= 0) li.remove();
    });
    box.hidden = !list.children.length && !document.getElementById("ticket-held").textContent;
  }
  function paint(tickets) {
    const offers = (tickets && tickets.offers) || [];
    const held = (tickets && tickets.held) || [];
    const seen = {};
    offers.forEach(function (o) {
      const id = String(o.ticket_id);
      seen[id] = true;
      if (!(id in deadlines)) deadlines[id] = Date.now() + 1000 * (o.seconds_left || 0);
      if (list.querySelector('li[data-ticket="' + id + '"]')) return;
      const li = row.content.firstElementChild.cloneNode(true);
      li.dataset.ticket = id;
      li.querySelector(".ticket-offer-subject").textContent = "#" + o.number + " " + o.subject;
      li.querySelector(".ticket-offer-from").textContent =
        (words.from || "{who}").replace("{who}", o.requester) + " · " + (words.queue || "{queue}").replace("{queue}", o.queue);
      li.querySelector(".ticket-accept").addEventListener("click", function () {
        say("");
        act(id, "accept").then(function () {
          window.location.href = box.dataset.ticket.replace("TICKET_ID", id);
        }).catch(function (e) { li.remove(); say(e.message || words.gone); });
      });
      li.querySelector(".ticket-decline").addEventListener("click", function () {
        act(id, "decline").catch(function () { /* gone already */ });
        li.remove();
        tick();
      });
      list.appendChild(li);
    });
    list.querySelectorAll("li[data-ticket]").forEach(function (li) {
      if (!seen[li.dataset.ticket]) { li.remove(); delete deadlines[li.dataset.ticket]; }
    });
    document.getElementById("ticket-held").textContent = held.length
      ? (words.held || "{n}").replace("{n}", held.length) : "";
    tick();
  }
  window.TicketOffers = { paint: paint };
  window.setInterval(tick, 1000);
  if (box.dataset.stream && window.EventSource) {
    const connect = function () {
      const es = new EventSource(box.dataset.stream);
      es.addEventListener("card", function (ev) {
        try { paint(JSON.parse(ev.data).tickets); } catch (e) { /* keep the last one */ }
      });
      es.onerror = function () { if (es.readyState === EventSource.CLOSED) window.setTimeout(connect, 5000); };
    };
    connect();
  }
})();
