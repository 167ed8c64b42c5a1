// The live view: the server pushes the list of calls in progress (server-sent events);
// this draws it and counts each call's elapsed time once a second.
"use strict";
(function () {
  const body = document.getElementById("live-calls");
  const empty = document.getElementById("live-empty");
  const status = document.getElementById("live-status");
  const names = JSON.parse(body.dataset.names || "{}");

  function elapsed(startedMs) {
    const s = Math.max(0, Math.floor((Date.now() - startedMs) / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function draw(calls) {
    const rows = calls.map(function (c) {
      const tr = document.createElement("tr");
      tr.dataset.call = c.id;
      const time = cell(elapsed(c.started_ms), "elapsed");
      time.dataset.started = c.started_ms;
      tr.append(cell(c.caller), cell(names[c.business] || c.business), time, cell(c.activity));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
    empty.hidden = calls.length > 0;
    status.textContent = calls.length === 1 ? "1 call in progress" : calls.length + " calls in progress";
  }

  function tick() {
    body.querySelectorAll("td.elapsed").forEach(function (td) {
      td.textContent = elapsed(Number(td.dataset.started));
    });
  }

  const source = new EventSource("/live/events");
  source.addEventListener("calls", function (event) { draw(JSON.parse(event.data)); });
  source.onerror = function () { status.textContent = "Reconnecting…"; };
  tick();
  setInterval(tick, 1000);
})();
