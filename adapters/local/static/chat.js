// The local chat page: send what the person types, press buttons, submit forms, and show what Tandem
// says as it arrives (Server-Sent Events; no polling). Everything is rendered by the server.
"use strict";
(function () {
  const data = document.getElementById("chat-data").dataset;
  const log = document.getElementById("log");
  const formArea = document.getElementById("form-area");
  const status = document.getElementById("status");
  const composer = document.getElementById("composer");
  const text = document.getElementById("text");
  const who = { team: data.team, person: data.person, c: data.conversation };

  function say(message) { status.textContent = message; }

  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }

  function place(html, id, replace) {
    const sticky = atBottom();
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = template.content.firstElementChild;
    const old = document.getElementById("m-" + id);
    if (old) { old.replaceWith(fresh); }
    else if (!replace || !old) {
      const empty = log.querySelector(".empty");
      if (empty) { empty.remove(); }
      log.appendChild(fresh);
    }
    if (sticky) { log.scrollTop = log.scrollHeight; }
  }

  async function post(url, fields) {
    const body = new URLSearchParams(Object.assign({}, who, fields));
    const response = await fetch(url, { method: "POST", body: body });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = { error: "Tandem did not answer (" + response.status + ")." }; }
    return { ok: response.ok, status: response.status, answer: answer };
  }

  function showForm(html) {
    formArea.innerHTML = html;
    const first = formArea.querySelector("[aria-invalid=true], input, textarea, button");
    if (first) { first.focus(); }
  }

  composer.addEventListener("submit", async function (event) {
    event.preventDefault();
    const value = text.value;
    if (!value.trim()) { say("Type a message first."); return; }
    text.disabled = true;
    try {
      const result = await post("/chat/say", { text: value });
      if (result.ok) { text.value = ""; say(""); if (result.answer.form) { showForm(result.answer.form); } }
      else { say(result.answer.error); }
    } finally { text.disabled = false; text.focus(); }
  });

  log.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) { return; }
    const message = button.closest("article[data-id]");
    button.disabled = true;
    try {
      const result = await post("/chat/press", {
        message: message.dataset.id, action: button.dataset.action, value: button.dataset.value,
        key: (self.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(36).slice(2),
      });
      if (!result.ok) { say(result.answer.error); }
      else if (result.answer.form) { showForm(result.answer.form); }
    } finally { button.disabled = false; }
  });

  formArea.addEventListener("click", function (event) {
    if (event.target.closest("[data-cancel]")) { formArea.innerHTML = ""; text.focus(); }
  });

  formArea.addEventListener("submit", async function (event) {
    event.preventDefault();
    const form = event.target;
    const fields = {};
    new FormData(form).forEach(function (value, key) { fields[key] = value; });
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const result = await post("/chat/submit", fields);
      if (result.answer.form) { showForm(result.answer.form); }
      else if (result.ok) { formArea.innerHTML = ""; say("Submitted."); text.focus(); }
      else { say(result.answer.error); }
    } finally { if (submit.isConnected) { submit.disabled = false; } }
  });

  const jump = document.getElementById("jump");
  jump.addEventListener("click", async function () {
    jump.disabled = true;
    try {
      const result = await post("/chat/clock/next", {});
      if (result.ok) {
        document.getElementById("clock-now").textContent = result.answer.now;
        document.getElementById("clock-said").textContent = result.answer.said;
      } else { say(result.answer.error); }
    } finally { jump.disabled = false; }
  });

  async function catchUp() {
    const query = new URLSearchParams(who);
    const response = await fetch("/chat/messages?" + query.toString());
    if (response.ok) { log.innerHTML = await response.text(); log.scrollTop = log.scrollHeight; }
  }

  const stream = new EventSource("/chat/events?" + new URLSearchParams({ team: who.team, person: who.person }).toString());
  stream.addEventListener("hello", function () { catchUp().then(function () { document.body.dataset.live = "yes"; }); });
  stream.addEventListener("error", function () { document.body.dataset.live = "no"; });
  stream.addEventListener("message", function (event) {
    const item = JSON.parse(event.data);
    if (item.conversation === who.c) { place(item.html, item.id, item.replace); }
    else {
      const link = document.querySelector('nav a[data-conversation="' + CSS.escape(item.conversation) + '"] .unread');
      if (link) { link.hidden = false; }
    }
  });
  log.scrollTop = log.scrollHeight;
})();
