// The rehearsal page: three conversations and two App Homes as Slack shows them, kept
// current by the supervisor's event feed; everything a person does goes to /api/act,
// where the supervisor, standing in for Slack, signs it and sends it to the bot.
"use strict";

const { blocks: drawBlocks, mrkdwn, textObject, esc, el } = BlockKit;

const state = {
  generation: 0,
  people: [],
  engineering: "",
  botName: "creators-onboard",
  messages: new Map(), // "channel|ts" -> message
  ephemerals: [],
  homes: {},
  modals: {},
  controls: null,
  playing: "both",
  tabs: {}, // user -> "messages" | "home"
  collapsed: new Set(), // "channel|ts" of threads folded away
};

const panes = new Map(); // key -> {node, kind, user, channel}

// ----------------------------------------------------------------- helpers

function names() {
  const out = { [state.engineering]: "engineering" };
  state.people.forEach((p) => { out[p.user] = p.name; });
  return out;
}

function who(user) {
  const p = state.people.find((x) => x.user === user);
  return p ? p : null;
}

async function post(path, body) {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await resp.json().catch(() => ({}));
  if (!resp.ok) notice(answer.error || `failed (${resp.status})`, true);
  return answer;
}

function act(user, body) {
  return post("/api/act", { user, ...body });
}

function notice(text, bad) {
  const n = document.getElementById("notice");
  n.textContent = text;
  n.className = bad ? "bad" : "";
}

function actingUser(pane) {
  if (pane.user) return pane.user;
  if (state.playing !== "both") return state.playing;
  return state.people.length > 1 ? state.people[1].user : state.people[0].user;
}

// ------------------------------------------------------------------- panes

function buildPanes() {
  const root = document.getElementById("panes");
  root.innerHTML = "";
  panes.clear();
  const tpl = document.getElementById("pane-template");
  const specs = state.people.map((p) => ({
    key: p.role, kind: "dm", user: p.user, channel: p.dm,
    title: state.botName, subtitle: `${p.name} · ${p.role} · direct message`,
  }));
  specs.push({
    key: "engineering", kind: "channel", user: null, channel: state.engineering,
    title: "# engineering", subtitle: "the engineering channel",
  });
  specs.forEach((spec) => {
    const node = tpl.content.firstElementChild.cloneNode(true);
    node.dataset.pane = spec.key;
    node.querySelector(".title").textContent = spec.title;
    node.querySelector(".subtitle").textContent = spec.subtitle;
    const pane = { ...spec, node };
    const tabs = node.querySelector(".tabs");
    if (spec.kind === "dm") {
      ["messages", "home"].forEach((tab) => {
        const t = el("button", "tab", tab === "home" ? "Home" : "Messages");
        t.type = "button";
        t.dataset.tab = tab;
        t.setAttribute("role", "tab");
        t.addEventListener("click", () => showTab(pane, tab));
        tabs.appendChild(t);
      });
      state.tabs[spec.user] = state.tabs[spec.user] || "messages";
    }
    const input = node.querySelector(".compose");
    input.placeholder = spec.kind === "dm"
      ? `Message ${state.botName}, or /creators-onboard …`
      : "/creators-onboard … (as the person you are playing)";
    const send = () => compose(pane, input);
    node.querySelector(".send").addEventListener("click", send);
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") send(); });
    panes.set(spec.key, pane);
    root.appendChild(node);
  });
  applyPlaying();
}

function applyPlaying() {
  panes.forEach((pane) => {
    const mine = state.playing === "both" || pane.user === null || pane.user === state.playing;
    pane.node.classList.toggle("dimmed", !mine);
  });
  renderAll();
}

function showTab(pane, tab) {
  state.tabs[pane.user] = tab;
  if (tab === "home") act(pane.user, { kind: "home" });
  renderPane(pane);
}

async function compose(pane, input) {
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  const user = actingUser(pane);
  const channel = pane.channel;
  const slash = text.match(/^\/creators-onboard\b\s*(.*)$/);
  if (slash) {
    await act(user, { kind: "command", channel, text: slash[1] });
  } else if (text.startsWith("/")) {
    notice(`${text.split(" ")[0]} is not a command here: try /creators-onboard help`, true);
  } else {
    await act(user, { kind: "message", channel, text });
  }
}

// --------------------------------------------------------------- rendering

function topLevel(channel) {
  return [...state.messages.values()]
    .filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts))
    .sort((a, b) => a.ts.localeCompare(b.ts));
}

function replies(channel, ts) {
  return [...state.messages.values()]
    .filter((m) => m.channel === channel && m.thread_ts === ts && m.ts !== ts)
    .sort((a, b) => a.ts.localeCompare(b.ts));
}

function visibleEphemerals(pane) {
  const viewer = pane.user || (state.playing === "both" ? null : state.playing);
  return state.ephemerals.filter((e) =>
    e.channel === pane.channel && (viewer === null || e.user === viewer));
}

function author(m) {
  if (m.bot) return { name: state.botName, tag: "APP", cls: "bot" };
  const p = who(m.user);
  return { name: p ? p.name : m.user, tag: "", cls: "person" };
}

function avatar(cls, name) {
  return el("div", `avatar ${cls}`, esc((name || "?").slice(0, 1).toUpperCase()));
}

function drawMessage(m, pane) {
  const a = author(m);
  const node = el("div", `message ${a.cls}`);
  node.dataset.ts = m.ts;
  node.appendChild(avatar(a.cls, a.name));
  const body = el("div", "message-body");
  const head = el("div", "message-head");
  head.innerHTML = `<span class="author">${esc(a.name)}</span>` +
    (a.tag ? `<span class="app-tag">${a.tag}</span>` : "") +
    `<span class="time">${clock(m.at)}</span>` +
    (m.edited ? '<span class="edited">(edited)</span>' : "");
  body.appendChild(head);
  body.appendChild(drawContent(m, (element, blockId, button) =>
    press(pane, { channel: m.channel, ts: m.ts }, element, blockId, button)));
  node.appendChild(body);
  return node;
}

// A message's blocks when it has some, else its text (as Slack falls back).
function drawContent(m, onPress) {
  const ctx = { names: names(), press: onPress };
  if (!m.blocks || !m.blocks.length) return el("div", "text", mrkdwn(m.text || "", ctx.names));
  const content = el("div", "blocks");
  content.appendChild(drawBlocks(m.blocks, ctx));
  return content;
}

function drawEphemeral(e, pane) {
  const node = el("div", "message bot ephemeral");
  node.appendChild(avatar("bot", state.botName));
  const body = el("div", "message-body");
  body.appendChild(el("div", "message-head",
    `<span class="author">${esc(state.botName)}</span><span class="app-tag">APP</span>` +
    '<span class="only-you">Only visible to you</span>'));
  body.appendChild(drawContent(e, (element, blockId, button) =>
    press(pane, null, element, blockId, button)));
  node.appendChild(body);
  return node;
}

function clock(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function renderAll() {
  panes.forEach(renderPane);
  renderModal();
  renderControls();
}

function renderPane(pane) {
  const body = pane.node.querySelector(".pane-body");
  const stick = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
  const tab = pane.kind === "dm" ? state.tabs[pane.user] : "messages";
  pane.node.querySelectorAll(".tab").forEach((t) => {
    t.classList.toggle("active", t.dataset.tab === tab);
    t.setAttribute("aria-selected", t.dataset.tab === tab ? "true" : "false");
  });
  pane.node.querySelector(".composer").hidden = tab === "home";
  body.innerHTML = "";
  if (tab === "home") {
    body.appendChild(drawHome(pane));
    return;
  }
  const items = topLevel(pane.channel).map((m) => ({ key: [m.ts, 0], m }));
  visibleEphemerals(pane).forEach((e) => items.push({ key: [e.after_ts, e.seq], e }));
  items.sort((x, y) => x.key[0].localeCompare(y.key[0]) || x.key[1] - y.key[1]);
  if (!items.length) body.appendChild(el("div", "empty", "Nothing here yet."));
  items.forEach((item) => {
    if (item.e) {
      body.appendChild(drawEphemeral(item.e, pane));
      return;
    }
    body.appendChild(drawMessage(item.m, pane));
    const thread = replies(pane.channel, item.m.ts);
    if (thread.length) body.appendChild(drawThread(pane, item.m, thread));
  });
  if (stick) body.scrollTop = body.scrollHeight;
}

function drawThread(pane, parent, thread) {
  const key = `${pane.channel}|${parent.ts}`;
  const folded = state.collapsed.has(key);
  const node = el("div", "thread");
  node.dataset.threadTs = parent.ts;
  const toggle = el("button", "thread-toggle",
    `${thread.length} ${thread.length === 1 ? "reply" : "replies"}` +
    `<span class="fold">${folded ? "Show thread" : "Hide thread"}</span>`);
  toggle.type = "button";
  toggle.addEventListener("click", () => {
    if (folded) state.collapsed.delete(key); else state.collapsed.add(key);
    renderPane(pane);
  });
  node.appendChild(toggle);
  if (!folded) thread.forEach((m) => node.appendChild(drawMessage(m, pane)));
  return node;
}

function drawHome(pane) {
  const view = state.homes[pane.user];
  const node = el("div", "home");
  if (!view) {
    node.appendChild(el("div", "empty", "The App Home has not been published yet."));
    return node;
  }
  node.appendChild(drawBlocks(view.blocks, {
    names: names(),
    press: (element, blockId, button) => press(pane, { home: true }, element, blockId, button),
  }));
  return node;
}

// ----------------------------------------------------------------- actions

async function press(pane, where, element, blockId, button) {
  if (element.url) window.open(element.url, "_blank", "noopener");
  if (!where) return; // an ephemeral's button: nothing Slack would send here
  const user = actingUser(pane);
  const go = async () => {
    button.classList.add("pressed");
    await act(user, { kind: "press", where, action_id: element.action_id, block_id: blockId });
  };
  if (element.confirm) confirmThen(element.confirm, go); else await go();
}

function confirmThen(confirm, go) {
  const overlay = document.getElementById("overlay");
  overlay.hidden = false;
  overlay.innerHTML = "";
  const box = el("div", "dialog confirm");
  box.setAttribute("role", "dialog");
  box.appendChild(el("h2", "", textObject(confirm.title, names())));
  box.appendChild(el("div", "dialog-body", textObject(confirm.text, names())));
  const row = el("div", "dialog-buttons");
  const no = el("button", "sk-button", textObject(confirm.deny || { text: "Cancel" }, {}));
  const yes = el("button", `sk-button ${confirm.style || "primary"}`,
    textObject(confirm.confirm || { text: "Yes" }, {}));
  no.type = yes.type = "button";
  no.addEventListener("click", () => { overlay.hidden = true; renderModal(); });
  yes.addEventListener("click", () => { overlay.hidden = true; go(); renderModal(); });
  row.append(no, yes);
  box.appendChild(row);
  overlay.appendChild(box);
}

function renderModal() {
  const overlay = document.getElementById("overlay");
  if (overlay.querySelector(".confirm")) return;
  const owner = state.people.find((p) => (state.modals[p.user] || []).length &&
    (state.playing === "both" || state.playing === p.user));
  if (!owner) {
    overlay.hidden = true;
    overlay.innerHTML = "";
    return;
  }
  const stack = state.modals[owner.user];
  const view = stack[stack.length - 1];
  overlay.hidden = false;
  overlay.innerHTML = "";
  const box = el("div", "dialog modal");
  box.setAttribute("role", "dialog");
  box.dataset.viewId = view.id;
  box.appendChild(el("h2", "", textObject(view.title, names()) +
    `<span class="modal-for">${esc(owner.name)}</span>`));
  const inputs = new Map();
  const pane = [...panes.values()].find((p) => p.user === owner.user);
  const ctx = {
    names: names(), inputs, errors: view.errors || {},
    press: (element, blockId, button) =>
      press(pane, { view_id: view.id }, element, blockId, button),
  };
  const content = el("div", "dialog-body");
  content.appendChild(drawBlocks(view.blocks, ctx));
  box.appendChild(content);
  const row = el("div", "dialog-buttons");
  const close = el("button", "sk-button", textObject(view.close || { text: "Cancel" }, {}));
  close.type = "button";
  close.addEventListener("click", () => act(owner.user, { kind: "close", view_id: view.id }));
  row.appendChild(close);
  if (view.submit) {
    const submit = el("button", "sk-button primary", textObject(view.submit, {}));
    submit.type = "button";
    submit.addEventListener("click", () => {
      const values = {};
      inputs.forEach((read, blockId) => { values[blockId] = read(); });
      act(owner.user, { kind: "submit", view_id: view.id, values });
    });
    row.appendChild(submit);
  }
  box.appendChild(row);
  overlay.appendChild(box);
}

// -------------------------------------------------------------------- feed

function load(snapshot) {
  state.generation = snapshot.generation;
  state.people = snapshot.people;
  state.engineering = snapshot.engineering;
  state.botName = snapshot.bot_name;
  state.messages = new Map(snapshot.messages.map((m) => [`${m.channel}|${m.ts}`, m]));
  state.ephemerals = snapshot.ephemerals;
  state.homes = snapshot.homes;
  state.modals = snapshot.modals;
  state.controls = snapshot.controls;
  fillPlaying();
  buildPanes();
}

let rendering = null;
function soon() {
  if (rendering) return;
  rendering = requestAnimationFrame(() => { rendering = null; renderAll(); });
}

let loading = null; // events that arrive while a snapshot loads wait for it

function apply(event) {
  if (loading) {
    loading.push(event);
    return;
  }
  switch (event.type) {
    case "message":
      state.messages.set(`${event.message.channel}|${event.message.ts}`, event.message);
      break;
    case "delete":
      state.messages.delete(`${event.channel}|${event.ts}`);
      break;
    case "ephemeral":
      if (!state.ephemerals.some((e) => e.seq === event.ephemeral.seq)) {
        state.ephemerals.push(event.ephemeral);
      }
      break;
    case "home":
      state.homes[event.user] = event.view;
      break;
    case "modals":
      state.modals[event.user] = event.modals;
      break;
    case "controls":
      state.controls = event.controls;
      break;
    case "reset":
      if (event.generation !== state.generation) refresh();
      return;
    default:
      return;
  }
  soon();
}

async function refresh() {
  loading = loading || [];
  try {
    const resp = await fetch("/api/snapshot", { cache: "no-store" });
    if (resp.ok) load(await resp.json());
  } finally {
    const waiting = loading;
    loading = null;
    waiting.forEach(apply); // upserts: replaying what the snapshot already had is harmless
  }
}

function listen() {
  const feed = new EventSource("/api/feed");
  feed.onmessage = (ev) => apply(JSON.parse(ev.data));
  // After a dropped connection, start again from a fresh snapshot.
  feed.onopen = () => { if (state.generation) refresh(); };
}

async function main() {
  setupStrip();
  listen();
  await refresh();
  document.body.dataset.ready = "1";
}

main();
