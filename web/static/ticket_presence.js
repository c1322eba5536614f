// The ticket page's collision detection: every 5 s it tells the panel this user is on the
// ticket (POST …/presence, "viewing", or "typing" while the reply box holds unsent text)
// and shows who else is. An entry lives 15 s on the server, so a closed tab drops out by
// itself. A response template picked in the list is rendered for this ticket and put
// into the reply box. No inline script (CSP): URLs, CSRF token and labels are data
// attributes of the page.
"use strict";
(function () {
  const box = document.getElementById("presence");
  if (!box) return;
  const list = document.getElementById("presence-list");
  const reply = document.getElementById("reply-body");
  const EVERY_MS = 5000;

  function show(people) {
    list.textContent = people.map((p) =>
      p.name + " (" + (p.state === "typing" ? box.dataset.typing : box.dataset.viewing) + ")").join(", ");
    box.hidden = people.length === 0;
  }

  function beat() {
    const typing = reply && reply.value.trim() !== "";
    fetch(box.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": box.dataset.csrf },
      body: JSON.stringify({ state: typing ? "typing" : "viewing" }),
    })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((body) => show(body.presence))
      .catch(() => {});
  }
  beat();
  setInterval(beat, EVERY_MS);
  if (reply) {
    let was = false;
    reply.addEventListener("input", () => {
      const now = reply.value.trim() !== "";
      if (now !== was) { was = now; beat(); }  // say "typing" at once, not in 5 s
    });
  }

  const pick = document.getElementById("template-pick");
  if (pick && reply) {
    pick.addEventListener("change", () => {
      if (!pick.value) return;
      fetch(pick.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": pick.dataset.csrf },
        body: JSON.stringify({ template_id: Number(pick.value) }),
      })
        .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
        .then(({ ok, body }) => {
          if (ok) { reply.value = body.text; reply.dispatchEvent(new Event("input")); }
          else { window.alert(body.error ? body.error.message : pick.dataset.failed || ""); }
        })
        .catch(() => {});
    });
  }
})();
