// The rehearsal strip: who you are playing, time, failures, the bot process, reset.
// Uses the page's `state`, `post`, `notice` and `applyPlaying` (sandbox.js).
"use strict";

function renderControls() {
  const c = state.controls;
  if (!c) return;
  const failure = document.getElementById("failure");
  if (!failure.options.length) {
    let group = null;
    c.failures.forEach((f) => {
      if (!group || group.label !== f.group) {
        group = el("optgroup");
        group.label = f.group;
        failure.appendChild(group);
      }
      const o = el("option", "", esc(f.label));
      o.value = f.key;
      o.dataset.perPartition = f.per_partition ? "1" : "";
      group.appendChild(o);
    });
    const part = document.getElementById("partition");
    c.partitions.forEach((p) => {
      const o = el("option", "", esc(p));
      o.value = p;
      part.appendChild(o);
    });
  }
  const bot = document.getElementById("bot-state");
  bot.textContent = c.bot === "running" ? "running" : "down";
  bot.className = `dot ${c.bot}`;
  const pace = document.getElementById("pace");
  pace.textContent = c.pace === "fast" ? "Real pace" : "Speed up runs";
  pace.dataset.pace = c.pace === "fast" ? "real" : "fast";
  let list = document.getElementById("injected");
  if (!list) {
    list = el("div", "", "");
    list.id = "injected";
    document.getElementById("strip").appendChild(list);
  }
  list.textContent = c.injected.length ? `Injected: ${c.injected.join(" · ")}` : "";
}

async function control(action) {
  const body = { action };
  if (action === "inject") {
    body.failure = document.getElementById("failure").value;
    body.partition = document.getElementById("partition").value;
  }
  if (action === "pace") body.pace = document.getElementById("pace").dataset.pace;
  notice(action === "reset" ? "Resetting…" : "…");
  const answer = await post("/api/control", body);
  if (answer.done) notice(answer.done);
}

function setupStrip() {
  document.querySelectorAll("[data-control]").forEach((b) =>
    b.addEventListener("click", () => control(b.dataset.control)));
  document.getElementById("playing").addEventListener("change", (ev) => {
    state.playing = ev.target.value;
    applyPlaying();
  });
}

function fillPlaying() {
  const select = document.getElementById("playing");
  select.querySelectorAll("option[data-person]").forEach((o) => o.remove());
  state.people.forEach((p) => {
    const o = el("option", "", esc(`${p.name} (${p.role})`));
    o.value = p.user;
    o.dataset.person = "1";
    select.appendChild(o);
  });
  select.value = state.playing;
}

