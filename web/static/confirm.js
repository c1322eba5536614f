// Forms marked data-confirm="question" ask before they are sent (delete, end sessions, ...).
// One listener on the document (CSP forbids inline handlers); the question is rendered by the
// server in the page's language. Without JavaScript the form is sent at once.
"use strict";
document.addEventListener("submit", function (ev) {
  const form = ev.target;
  const question = form && form.dataset ? form.dataset.confirm : null;
  if (question && !window.confirm(question)) ev.preventDefault();
});
