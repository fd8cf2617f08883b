// Block Kit and mrkdwn, drawn the way Slack draws them (the parts the bot uses, and the
// usual input elements of a modal). Images are never fetched: the rehearsal stays on
// this machine, so an image shows its alt text.
"use strict";

const BlockKit = (() => {
  const EMOJI = {
    warning: "⚠️", wave: "👋", package: "📦", octagonal_sign: "🛑", sos: "🆘",
    rocket: "🚀", white_check_mark: "✅", x: "❌", tada: "🎉", no_entry: "⛔",
    lock: "🔒", key: "🔑", hourglass_flowing_sand: "⏳", rotating_light: "🚨",
    large_green_circle: "🟢", red_circle: "🔴", information_source: "ℹ️", eyes: "👀",
    heavy_check_mark: "✔️", point_right: "👉", bell: "🔔", memo: "📝", link: "🔗",
  };

  function esc(text) {
    return String(text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  // Slack escapes &, < and > in text as entities: turn them back before escaping for HTML.
  function unslack(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function emoji(html) {
    return html.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
  }

  function inline(text, names) {
    // text is raw mrkdwn without code spans; returns HTML. Mentions, links and dates are
    // drawn first and held aside, so that bold or italics around them still apply.
    const held = [];
    const marked = text.replace(/<([^<>]+)>/g, (all, inner) => {
      held.push(special(inner, names));
      return `\u0000${held.length - 1}\u0000`;
    });
    return style(esc(unslack(marked)))
      .replace(/\u0000(\d+)\u0000/g, (all, i) => held[Number(i)]);
  }

  // <!date^1700000000^{date_short_pretty} at {time}|fallback>: Slack shows each reader
  // the time in their own time zone; so does the page (the fallback if it cannot).
  function date(target, fallback) {
    const [, stamp, format] = target.split("^");
    const when = new Date(Number(stamp) * 1000);
    if (!format || Number.isNaN(when.getTime())) return esc(unslack(fallback || ""));
    const day = when.toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
    const time = when.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
    const shown = format
      .replace(/\{date_short_pretty\}|\{date_pretty\}|\{date_long_pretty\}|\{date_short\}|\{date\}|\{date_long\}/g, day)
      .replace(/\{time_secs\}|\{time\}/g, time);
    return `<time datetime="${esc(when.toISOString())}">${esc(shown)}</time>`;
  }

  function special(inner, names) {
    const [target, label] = inner.split("|", 2);
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return `<span class="mention">@${esc(names[id] || label || id)}</span>`;
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      return `<span class="mention">#${esc(label || names[id] || id)}</span>`;
    }
    if (target.startsWith("!date^")) return date(target, label);
    if (target.startsWith("!")) {
      return `<span class="mention">@${esc(target.slice(1))}</span>`;
    }
    const href = unslack(target);
    const safe = /^(https?:|mailto:)/.test(href) ? href : "#";
    return `<a href="${esc(safe)}" target="_blank" rel="noopener noreferrer">` +
      `${esc(unslack(label || target))}</a>`;
  }

  function style(html) {
    return emoji(html)
      .replace(/(^|[\s(>])\*([^*\n]+)\*(?=$|[\s).,:;!?<])/g, "$1<b>$2</b>")
      .replace(/(^|[\s(>])_([^_\n]+)_(?=$|[\s).,:;!?<])/g, "$1<i>$2</i>")
      .replace(/(^|[\s(>])~([^~\n]+)~(?=$|[\s).,:;!?<])/g, "$1<s>$2</s>");
  }

  function mrkdwn(text, names) {
    names = names || {};
    const out = [];
    const fence = /```([\s\S]*?)```/g;
    let last = 0;
    let m;
    while ((m = fence.exec(text)) !== null) {
      out.push(lines(text.slice(last, m.index), names));
      out.push(`<pre class="code">${esc(unslack(m[1].replace(/^\n/, "")))}</pre>`);
      last = fence.lastIndex;
    }
    out.push(lines(text.slice(last), names));
    return out.join("");
  }

  function lines(text, names) {
    if (!text) return "";
    return text.split("\n").map((line) => {
      const quote = line.startsWith("&gt;") || line.startsWith(">");
      const body = quote ? line.replace(/^(&gt;|>)\s?/, "") : line;
      const html = body.split(/(`[^`\n]+`)/).map((piece) =>
        piece.length > 1 && piece.startsWith("`") && piece.endsWith("`")
          ? `<code>${esc(unslack(piece.slice(1, -1)))}</code>`
          : inline(piece, names)).join("");
      return quote ? `<span class="quote">${html}</span>` : html;
    }).join("<br>");
  }

  function textObject(obj, names) {
    if (!obj) return "";
    return obj.type === "mrkdwn" ? mrkdwn(obj.text || "", names) : emoji(esc(obj.text || ""));
  }

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function imageStandIn(alt) {
    return el("span", "image-stand-in", `🖼 ${esc(alt || "image")}`);
  }

  // ctx: {names, press(element, blockId), inputs: Map (modals only), errors: {}}
  function element(e, blockId, ctx) {
    if (e.type === "button") {
      const b = el("button", "sk-button" + (e.style ? ` ${e.style}` : ""),
        textObject(e.text, ctx.names));
      b.type = "button";
      b.dataset.actionId = e.action_id || "";
      b.dataset.blockId = blockId;
      if (e.url) b.dataset.url = e.url;
      b.addEventListener("click", () => ctx.press(e, blockId, b));
      return b;
    }
    if (e.type === "image") return imageStandIn(e.alt_text);
    if (e.type === "mrkdwn" || e.type === "plain_text") {
      return el("span", "context-text", textObject(e, ctx.names));
    }
    return el("span", "unsupported", `(${esc(e.type)})`);
  }

  function input(block, ctx) {
    const wrap = el("div", "bk-input");
    const id = block.block_id;
    const e = block.element || {};
    const label = el("label", "input-label", textObject(block.label, ctx.names) +
      (block.optional ? ' <span class="optional">(optional)</span>' : ""));
    wrap.appendChild(label);
    let field;
    if (e.type === "plain_text_input") {
      field = el(e.multiline ? "textarea" : "input", "field");
      if (!e.multiline) field.type = "text";
      if (e.placeholder) field.placeholder = e.placeholder.text;
      if (e.initial_value) field.value = e.initial_value;
      ctx.inputs.set(id, () => ({ [e.action_id]: { type: e.type, value: field.value || null } }));
    } else if (e.type === "static_select" || e.type === "radio_buttons") {
      field = el("select", "field");
      field.appendChild(el("option", "", esc(e.placeholder ? e.placeholder.text : "Choose…")));
      (e.options || []).forEach((o) => {
        const opt = el("option", "", esc(o.text.text));
        opt.value = o.value;
        if (e.initial_option && e.initial_option.value === o.value) opt.selected = true;
        field.appendChild(opt);
      });
      ctx.inputs.set(id, () => {
        const o = (e.options || []).find((x) => x.value === field.value);
        return { [e.action_id]: { type: e.type, selected_option: o || null } };
      });
    } else if (e.type === "checkboxes") {
      field = el("div", "field checks");
      const boxes = (e.options || []).map((o) => {
        const row = el("label", "check");
        const box = el("input");
        box.type = "checkbox";
        row.appendChild(box);
        row.appendChild(el("span", "", textObject(o.text, ctx.names)));
        field.appendChild(row);
        return [box, o];
      });
      ctx.inputs.set(id, () => ({
        [e.action_id]: { type: e.type, selected_options: boxes.filter(([b]) => b.checked).map(([, o]) => o) },
      }));
    } else {
      field = el("span", "unsupported", `(${esc(e.type)})`);
    }
    field.dataset.blockId = id;
    label.htmlFor = field.id = `input-${id}`;
    wrap.appendChild(field);
    if (block.hint) wrap.appendChild(el("div", "hint", textObject(block.hint, ctx.names)));
    if (ctx.errors && ctx.errors[id]) wrap.appendChild(el("div", "error", esc(ctx.errors[id])));
    return wrap;
  }

  function block(b, n, ctx) {
    const id = b.block_id || `#${n}`;
    switch (b.type) {
      case "header":
        return el("div", "bk-header", textObject(b.text, ctx.names));
      case "divider":
        return el("hr", "bk-divider");
      case "section": {
        const s = el("div", "bk-section");
        const main = el("div", "section-main");
        if (b.text) main.appendChild(el("div", "section-text", textObject(b.text, ctx.names)));
        if (b.fields) {
          const grid = el("div", "fields");
          b.fields.forEach((f) => grid.appendChild(el("div", "field-text", textObject(f, ctx.names))));
          main.appendChild(grid);
        }
        s.appendChild(main);
        if (b.accessory) s.appendChild(element(b.accessory, id, ctx));
        return s;
      }
      case "context": {
        const c = el("div", "bk-context");
        (b.elements || []).forEach((e) => c.appendChild(element(e, id, ctx)));
        return c;
      }
      case "actions": {
        const a = el("div", "bk-actions");
        (b.elements || []).forEach((e) => a.appendChild(element(e, id, ctx)));
        return a;
      }
      case "image":
        return imageStandIn(b.alt_text);
      case "input":
        return input(b, ctx);
      default:
        return el("div", "unsupported", `(a ${esc(b.type)} block)`);
    }
  }

  function blocks(list, ctx) {
    const frag = document.createDocumentFragment();
    (list || []).forEach((b, n) => frag.appendChild(block(b, n, ctx)));
    return frag;
  }

  return { blocks, mrkdwn, textObject, esc, el };
})();
