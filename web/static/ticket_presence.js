// The ticket page's collision detection: every 5 s it tells the panel this user is on the
// ticket (POST …/presence, "viewing", or "typing" while the reply box holds unsent text)
// and shows who else is. An entry lives 15 s on the server, so a closed tab drops out by
// itself. A response template picked in the list is rendered for this ticket and put
// into the reply box where the cursor is. No inline script (CSP): URLs, CSRF token and labels are data
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

  // The rendered template goes where the cursor is (replacing a selection), so a reply
  // already begun is kept; the list goes back to "—" to allow the same template again.
  const pick = document.getElementById("template-pick");
  const problem = document.getElementById("template-error");
  function insert(text) {
    const start = reply.selectionStart ?? reply.value.length;
    const end = reply.selectionEnd ?? start;
    const before = reply.value.slice(0, start);
    const gap = before && !before.endsWith("\n") ? "\n" : "";
    reply.value = before + gap + text + reply.value.slice(end);
    const at = before.length + gap.length + text.length;
    reply.focus();
    reply.setSelectionRange(at, at);
    reply.dispatchEvent(new Event("input"));
  }
  if (pick && reply) {
    pick.addEventListener("change", () => {
      if (!pick.value) return;
      if (problem) problem.hidden = true;
      fetch(pick.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": pick.dataset.csrf },
        body: JSON.stringify({ template_id: Number(pick.value) }),
      })
        .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
        .then(({ ok, body }) => {
          if (ok) { insert(body.text); pick.value = ""; return; }
          const why = body.error ? body.error.message : "";
          if (problem) { problem.textContent = pick.dataset.failed + (why ? " " + why : ""); problem.hidden = false; }
        })
        .catch(() => { if (problem) { problem.textContent = pick.dataset.failed; problem.hidden = false; } });
    });
  }
})();
