// The inbox, live on every page: the server pushes the unread count, new messages and
// colleagues' changes (server-sent events). Every page updates its count; the open inbox
// redraws its list from the server (never while someone is typing in it); a new message
// for a followed business shows a desktop notification once permission was given.
"use strict";
(function () {
  const script = document.currentScript;
  const names = JSON.parse((script && script.dataset.names) || "{}");
  const count = document.getElementById("unread-count");
  const title = document.getElementById("unread-title");
  const list = document.getElementById("inbox-list");
  const status = document.getElementById("inbox-status");
  const FOLLOW_KEY = "rx-follow";
  const ASKED_KEY = "rx-notify-asked";
  let latest = list ? Number(list.dataset.latest) : null;
  let unread = null;
  let pending = false;

  function setUnread(n) {
    if (count) {
      count.textContent = String(n);
      count.setAttribute("aria-label", n + " new");
      count.hidden = n === 0;
    }
    if (title) title.textContent = n + " new";
  }

  function editing() {
    const active = document.activeElement;
    return list && active && list.contains(active) &&
      (active.tagName === "TEXTAREA" || active.tagName === "SELECT" || active.tagName === "INPUT");
  }

  function redraw() {
    if (!list) return;
    if (editing()) { pending = true; return; }
    pending = false;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("inbox-list");
        if (!fresh) return;
        if (editing()) { pending = true; return; }
        list.replaceChildren.apply(list, Array.from(fresh.childNodes));
        if (status) status.textContent = "Inbox updated";
      })
      .catch(function () { if (status) status.textContent = "Could not update: reload the page"; });
  }

  function followed() {
    try {
      const kept = JSON.parse(localStorage.getItem(FOLLOW_KEY) || "null");
      if (Array.isArray(kept)) return kept;
    } catch (e) { /* a damaged setting: follow everything visible */ }
    return null;
  }

  function notify(changes) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const follow = followed();
    changes.forEach(function (c) {
      if (c.kind !== "new" || (follow && follow.indexOf(c.business) < 0)) return;
      const n = new Notification("New message: " + (names[c.business] || c.business), {
        body: c.caller_name, tag: "message-" + c.message_id,
      });
      n.onclick = function () { window.focus(); window.location.href = "/inbox#message-" + c.message_id; };
    });
  }

  function setUpFollowing() {
    const box = document.getElementById("follow");
    const button = document.getElementById("notify-on");
    if (!box || !("Notification" in window)) return;
    box.hidden = false;
    const follow = followed();
    box.querySelectorAll("input[name=follow]").forEach(function (input) {
      if (follow) input.checked = follow.indexOf(input.value) >= 0;
      input.addEventListener("change", function () {
        const chosen = Array.from(box.querySelectorAll("input[name=follow]:checked"))
          .map(function (i) { return i.value; });
        localStorage.setItem(FOLLOW_KEY, JSON.stringify(chosen));
      });
    });
    // Asked once: after an answer (or a dismissal) the button stays away.
    button.hidden = Notification.permission !== "default" || localStorage.getItem(ASKED_KEY) === "1";
    button.addEventListener("click", function () {
      localStorage.setItem(ASKED_KEY, "1");
      Notification.requestPermission().finally(function () { button.hidden = true; });
    });
  }

  setUpFollowing();
  if (list) {
    list.addEventListener("focusout", function () {
      if (pending) setTimeout(function () { if (!editing()) redraw(); }, 0);
    });
  }
  const source = new EventSource("/inbox/events");
  source.addEventListener("inbox", function (event) {
    const data = JSON.parse(event.data);
    setUnread(data.unread);
    // A change made elsewhere (the CLI, another instance) shows as a moved count only.
    const moved = (latest !== null && data.latest !== latest) ||
      (unread !== null && data.unread !== unread);
    latest = data.latest;
    unread = data.unread;
    notify(data.changes);
    if (data.changes.length || moved) redraw();
  });
})();
