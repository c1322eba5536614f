// DID form: the greeting is played only before a phone rings, so its field shows only when
// the DID routes to a phone. Without JavaScript every field shows (the server ignores the
// greeting for a queue or IVR-flow target). CSP forbids inline scripts: this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("did-form");
  const prompt = document.getElementById("did-prompt");
  if (!form || !prompt) return;
  function sync() {
    const chosen = form.querySelector('input[name="target"]:checked');
    prompt.hidden = !(chosen && chosen.value === "phone");
  }
  form.addEventListener("change", function (ev) {
    if (ev.target && ev.target.name === "target") sync();
  });
  sync();
});
