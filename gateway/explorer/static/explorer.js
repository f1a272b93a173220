// The receivables ledger explorer: reads /v1/explorer with the user's API key and draws what it
// returns. Every string from the server goes into the page as text (textContent), never as HTML.
"use strict";

const KEY_STORE = "ledger-explorer-api-key";  // sessionStorage: gone when the tab closes
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

// -- small helpers ------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(amount) {  // amounts are decimal strings in the currency's smallest unit
  try { return BigInt(amount).toLocaleString("en-US"); } catch (e) { return String(amount); }
}

function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

function short(hex) { return hex ? hex.slice(0, 6) + "…" + hex.slice(-4) : "—"; }

let names = {};
function who(address) {
  if (!address) return "—";
  return names[address] ? `${names[address]} (${short(address)})` : short(address);
}

function date(seconds) { return seconds ? new Date(seconds * 1000).toISOString().slice(0, 10) : "—"; }

function link(text, hash) { return el("a", {href: hash, text}); }

function table(headers, rows, cls) {
  return el("table", {class: cls},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {text: h})))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) =>
      c instanceof Node ? el("td", {}, c) : el("td", {class: /^[\d,]+$/.test(String(c)) ? "num" : null,
                                                 text: c}))))));
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setBlock(block) {
  const label = $("block-label");
  if (!block) { label.textContent = "Block: the mirror has not applied any block yet"; return; }
  label.textContent = `Data as of block #${block.number} (${short(block.hash)})`;
  label.dataset.blockNumber = block.number;
  label.title = block.hash;
}

async function api(path) {
  const key = sessionStorage.getItem(KEY_STORE);
  if (!key) throw new Error("Enter your API key first.");
  let response;
  try {
    response = await fetch(path, {headers: {Authorization: `Bearer ${key}`, Accept: "application/json"}});
  } catch (e) {
    throw new Error(`The gateway did not answer (${e.message}).`);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const name = body.error || response.statusText;
    throw new Error(`${response.status} ${name}: ${body.detail || JSON.stringify(body)}`);
  }
  return body;
}

function view(...children) {
  const main = $("view");
  main.replaceChildren(...children.flat(Infinity));
}

// -- routes: #/receivable/1, #/voucher/7, #/party/0x…, #/search/… ------------------------------

async function route() {
  const [, kind, arg] = (location.hash || "").split("/");
  if (!kind || !arg) return;
  if (!sessionStorage.getItem(KEY_STORE)) { showError("Enter your API key first."); return; }
  showError("");
  const q = decodeURIComponent(arg);
  view(el("p", {class: "hint", text: "Loading…"}));
  try {
    if (kind === "receivable") renderReceivable(await api(`v1/explorer/receivables/${encodeURIComponent(q)}`));
    else if (kind === "voucher") renderVoucher(await api(`v1/explorer/vouchers/${encodeURIComponent(q)}`));
    else if (kind === "party") renderParty(await api(`v1/explorer/parties/${encodeURIComponent(q)}`));
    else if (kind === "search") await runSearch(q);
    else throw new Error(`Unknown page: ${kind}`);
  } catch (e) {
    view();
    showError(e.message);
  }
}

async function runSearch(q) {
  const found = await api(`v1/explorer/search?q=${encodeURIComponent(q)}`);
  setBlock(found.block);
  if (found.matches.length === 1) {
    const m = found.matches[0];
    location.replace(`#/${m.kind}/${m.id}`);
    return;
  }
  const items = found.matches.map((m) => el("li", {}, link(`${m.kind} ${m.id}`, `#/${m.kind}/${m.id}`)));
  const parts = [el("h2", {text: `Search: ${q}`})];
  if (items.length) parts.push(el("p", {text: "More than one thing has this id:"}), el("ul", {id: "matches"}, items));
  if (found.withheld.length) {
    const list = found.withheld.map((m) => `${m.kind} ${m.id}`).join(", ");
    if (!items.length) showError(`Not yours to see: ${list} exists, but you are not entitled to it.`);
    else parts.push(el("p", {class: "note", text: `Also exists, not yours to see: ${list}`}));
  } else if (!items.length) {
    showError(`Nothing found for "${q}".`);
  }
  view(parts);
}

// -- a receivable: its voucher tree as a graph --------------------------------------------------

function nodeClasses(n) {
  const c = ["node"];
  if (n.status === "BURNED") c.push("burned");
  else if (n.status === "CLOSED") c.push("closed");
  else if (BigInt(n.paid) > 0n) c.push("claimed");
  if (n.factored) c.push("factored");
  if (n.offers.some((o) => o.state === "OPEN")) c.push("offered");
  return c.join(" ");
}

function drawTree(nodes, edges) {
  const W = 210, H = 78, GAP_X = 110, GAP_Y = 18, PAD = 16, TOP = 34;
  const byId = new Map(nodes.map((n) => [n.token_id, n]));
  const kids = new Map();
  const roots = [];
  for (const n of nodes) {
    if (n.parent_id && byId.has(n.parent_id)) {
      if (!kids.has(n.parent_id)) kids.set(n.parent_id, []);
      kids.get(n.parent_id).push(n);
    } else roots.push(n);
  }
  const pos = new Map();
  let row = 0, maxDepth = 0;
  function place(n, depth) {
    maxDepth = Math.max(maxDepth, depth);
    const children = (kids.get(n.token_id) || []).sort((a, b) => a.token_id - b.token_id);
    let y;
    if (!children.length) y = row++;
    else {
      const ys = children.map((c) => place(c, depth + 1));
      y = (ys[0] + ys[ys.length - 1]) / 2;
    }
    pos.set(n.token_id, {x: PAD + depth * (W + GAP_X), y: TOP + y * (H + GAP_Y), depth});
    return y;
  }
  roots.sort((a, b) => a.token_id - b.token_id).forEach((r) => place(r, 0));
  const width = PAD * 2 + (maxDepth + 1) * W + maxDepth * GAP_X;
  const height = TOP + Math.max(row, 1) * (H + GAP_Y) + PAD;
  const root = svg("svg", {id: "tree", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                           "data-tiers": maxDepth + 1, "aria-label": "voucher tree"});
  for (let d = 0; d <= maxDepth; d++) {
    root.append(svg("text", {class: "tier-label", x: PAD + d * (W + GAP_X), y: 18, "data-tier": d + 1},
                    d === 0 ? "Tier 1 (root)" : `Tier ${d + 1}`));
  }
  const edgeLayer = svg("g", {class: "edges"});
  root.append(edgeLayer);
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    // A move runs a little below the split between the same two vouchers, so both stay readable.
    const shift = e.kind === "moved" ? 14 : 0;
    const x1 = a.x + W, y1 = a.y + H / 2 + shift, x2 = b.x, y2 = b.y + H / 2 + shift;
    const backwards = x2 <= x1;  // a move into a voucher at the same or an earlier tier
    const d = backwards
      ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 40} ` +
        `${b.x + W / 2},${b.y + H + 40} ${b.x + W / 2},${b.y + H}`
      : `M${x1},${y1} C${x1 + GAP_X / 2},${y1} ${x2 - GAP_X / 2},${y2} ${x2},${y2}`;
    const g = svg("g", {class: `edge-group ${e.kind}`, "data-from": e.from, "data-to": e.to, "data-kind": e.kind});
    g.append(svg("path", {class: `edge ${e.kind}`, d}),
             // The label sits where the edge arrives: each child has its own row, so labels never collide.
             svg("text", {class: "edge-label", x: backwards ? (a.x + b.x + W) / 2 : x2 - 6,
                          "text-anchor": backwards ? "middle" : "end",
                          y: backwards ? Math.max(a.y, b.y) + H + 34 : y2 + (shift ? 12 : -4)},
                 `${e.kind === "split" ? "" : "moved "}${fmt(e.value)}`));
    edgeLayer.append(g);
  }
  for (const n of nodes) {
    const p = pos.get(n.token_id);
    const g = svg("g", {class: nodeClasses(n), transform: `translate(${p.x},${p.y})`, "data-token-id": n.token_id,
                        "data-holder": n.holder, "data-status": n.status, "data-tier": p.depth + 1,
                        "data-factored": n.factored ? "true" : "false", tabindex: 0});
    g.addEventListener("click", () => { location.hash = `#/voucher/${n.token_id}`; });
    const title = names[n.holder] || short(n.holder);
    let note = "";
    if (n.factored) note = `factored → ${names[n.factored.financier] || short(n.factored.financier)}` +
                           (n.factored.recourse ? ", recourse" : "");
    else if (n.offers.some((o) => o.state === "OPEN")) note = "offered for factoring";
    const paid = [BigInt(n.paid) > 0n ? `claimed ${fmt(n.paid)}` : "",
                  BigInt(n.claimable) > 0n ? `due ${fmt(n.claimable)}` : ""].filter(Boolean).join(" · ");
    g.append(svg("rect", {width: W, height: H, rx: 6}),
             svg("text", {class: "title", x: 8, y: 17}, clip(`#${n.token_id} · ${title}`, 30)),
             svg("text", {x: 8, y: 35}, clip(`${fmt(n.value)} · ${n.status}`, 32)),
             svg("text", {class: "sub", x: 8, y: 52}, clip(note, 33)),
             svg("text", {class: "sub", x: 8, y: 68}, clip(paid, 33)));
    g.append(svg("title", {}, `voucher #${n.token_id}, held by ${who(n.holder)}: value ${fmt(n.value)}, ` +
                 `paid out ${fmt(n.paid)}, due now ${fmt(n.claimable)}, ${n.status}${note ? "; " + note : ""}`));
    root.append(g);
  }
  return root;
}

function renderReceivable(data) {
  names = data.names || {};
  setBlock(data.block);
  const r = data.receivable;
  const scope = data.access.scope === "all"
    ? `You see the whole tree (as ${data.access.as}).`
    : `You see the branches you took part in; ${data.hidden} other voucher(s) of this receivable are hidden.`;
  const legend = el("div", {class: "legend"},
    ["factored", "offered", "claimed", "closed", "burned"].map((k) => el("span", {}, el("span", {class: `swatch ${k}`}),
      {factored: "factored (sold to a financier)", offered: "offered for factoring", claimed: "part claimed",
       closed: "fully paid out", burned: "merged / burned"}[k])),
    el("span", {text: "— split   - - value moved into an existing voucher"}));
  view(
    el("h2", {id: "title", text: `Receivable ${r.receivable_id} · ${r.state}`}),
    el("div", {class: "summary"},
      el("span", {}, el("b", {text: "obligor "}), who(r.obligor)),
      el("span", {}, el("b", {text: "supplier "}), who(r.supplier)),
      el("span", {}, el("b", {text: "line financier "}), who(r.financier)),
      el("span", {}, el("b", {text: "face value "}), fmt(r.face_value)),
      el("span", {}, el("b", {text: "repaid "}), fmt(r.repaid)),
      el("span", {}, el("b", {text: "claimed "}), fmt(r.claimed)),
      el("span", {}, el("b", {text: "maturity "}), date(r.maturity)),
      el("span", {}, el("b", {text: "issued in block "}), String(r.issued_block))),
    el("p", {id: "access", class: "note", text: scope}),
    legend,
    el("div", {class: "graph", id: "graph"}, drawTree(data.nodes, data.edges)),
    el("h3", {text: "Vouchers"}),
    table(["voucher", "parent", "holder", "value", "paid out", "claimable now", "status", "financing"],
          data.nodes.map((n) => [link(`#${n.token_id}`, `#/voucher/${n.token_id}`),
            n.parent_id ? String(n.parent_id) : "root", who(n.holder), fmt(n.value), fmt(n.paid), fmt(n.claimable),
            n.status,
            n.factored ? `bought by ${who(n.factored.financier)} for ${fmt(n.factored.price)} ` +
                         `(${(n.factored.rate_bps / 100).toFixed(2)} %${n.factored.recourse ? ", recourse" : ""})`
                       : (n.offers.length ? `offer ${n.offers[n.offers.length - 1].state.toLowerCase()}` : "")]),
          "vouchers"),
    el("h3", {text: "Repayments"}),
    data.repayments.length
      ? table(["block", "amount", "repaid so far", "transaction"],
              data.repayments.map((p) => [String(p.block_number), fmt(p.amount), fmt(p.repaid), short(p.tx_hash)]))
      : el("p", {class: "note", text: "Nothing repaid yet."}));
}

// -- a voucher: lineage and timeline ------------------------------------------------------------

function argsText(args) {
  return Object.entries(args).map(([k, v]) => `${k.replace(/^_/, "")}=${/^0x[0-9a-fA-F]{40}$/.test(v) ? who(v) : v}`)
    .join(", ");
}

function renderVoucher(data) {
  names = data.names || {};
  setBlock(data.block);
  const v = data.voucher;
  const crumbs = el("p", {id: "lineage"}, "Lineage: ",
    data.lineage.map((p) => [link(`#${p.token_id}`, `#/voucher/${p.token_id}`), " → "]),
    el("b", {text: `#${v.token_id}`}),
    data.children.length ? [" → split to ", data.children.map((c, i) =>
      [i ? ", " : "", link(`#${c.token_id}`, `#/voucher/${c.token_id}`)])] : []);
  view(
    el("h2", {id: "title", text: `Voucher #${v.token_id} · ${v.status}`}),
    el("div", {class: "summary"},
      el("span", {}, el("b", {text: "holder "}), who(v.holder)),
      el("span", {}, el("b", {text: "receivable "}), link(String(v.receivable_id), `#/receivable/${v.receivable_id}`)),
      el("span", {}, el("b", {text: "value "}), fmt(v.value)),
      el("span", {}, el("b", {text: "paid out "}), fmt(v.paid)),
      el("span", {}, el("b", {text: "minted in block "}), String(v.minted_block))),
    crumbs,
    el("h3", {text: "Timeline"}),
    table(["block", "log", "event", "details", "transaction"],
          data.timeline.map((e) => [String(e.block_number), String(e.log_index), e.event, argsText(e.args),
                                    el("span", {class: "mono", title: e.tx_hash, text: short(e.tx_hash)})]),
          "timeline"),
    data.deals.length ? [el("h3", {text: "Factoring deals"}),
      table(["offer", "seller", "financier", "value", "price", "rate", "recourse", "block"],
            data.deals.map((d) => [String(d.offer_id), who(d.seller), who(d.financier), fmt(d.value), fmt(d.price),
                                   `${(d.rate_bps / 100).toFixed(2)} %`, d.recourse ? "yes" : "no",
                                   String(d.block_number)]))] : [],
    data.offers.length ? [el("h3", {text: "Offers"}),
      table(["offer", "seller", "value", "rate", "state"],
            data.offers.map((o) => [String(o.offer_id), who(o.seller), fmt(o.value),
                                    `${(o.rate_bps / 100).toFixed(2)} %`, o.state]))] : []);
}

// -- a party: positions ------------------------------------------------------------------------

function renderParty(data) {
  names = data.names || {};
  setBlock(data.block);
  const receivables = (rows) => table(["receivable", "state", "face value", "repaid", "maturity"],
    rows.map((r) => [link(String(r.receivable_id), `#/receivable/${r.receivable_id}`), r.state, fmt(r.face_value),
                     fmt(r.repaid), date(r.maturity)]));
  const deals = (rows) => table(["offer", "voucher", "seller", "financier", "value", "price"],
    rows.map((d) => [String(d.offer_id), link(`#${d.token_id}`, `#/voucher/${d.token_id}`), who(d.seller),
                     who(d.financier), fmt(d.value), fmt(d.price)]));
  const section = (title, rows, render) => rows.length ? [el("h3", {text: title}), render(rows)] : [];
  view(
    el("h2", {id: "title", text: `Party ${who(data.address)}`}),
    el("p", {class: "mono", text: data.address}),
    el("div", {class: "summary"}, el("span", {}, el("b", {text: "total held "}), fmt(data.total_held))),
    el("h3", {text: "Holdings by receivable"}),
    data.holdings.length
      ? table(["receivable", "value held"], data.holdings.map((h) =>
          [link(String(h.receivable_id), `#/receivable/${h.receivable_id}`), fmt(h.value)]), "holdings")
      : el("p", {class: "note", text: "No vouchers held."}),
    section("Vouchers", data.vouchers, (rows) => table(["voucher", "receivable", "value", "paid out", "status"],
      rows.map((v) => [link(`#${v.token_id}`, `#/voucher/${v.token_id}`), String(v.receivable_id), fmt(v.value),
                       fmt(v.paid), v.status]), "positions")),
    section("Receivables it owes (obligor)", data.obligations, receivables),
    section("Receivables issued to it", data.receivables_issued_to, receivables),
    section("Open offers", data.open_offers, (rows) => table(["offer", "voucher", "value", "rate"],
      rows.map((o) => [String(o.offer_id), String(o.token_id), fmt(o.value), `${(o.rate_bps / 100).toFixed(2)} %`]))),
    section("Vouchers it sold (factoring)", data.deals_sold, deals),
    section("Vouchers it bought (factoring)", data.deals_bought, deals),
    section("Credit lines", data.credit_lines, (rows) => table(["line", "financier", "obligor", "limit", "used"],
      rows.map((c) => [String(c.line_id), who(c.financier), who(c.obligor), fmt(c.limit), fmt(c.used)]))));
}

// -- wiring -------------------------------------------------------------------------------------

async function useKey(key) {
  sessionStorage.setItem(KEY_STORE, key);
  try {
    const me = await api("v1/parties/me");
    $("whoami").textContent = `${me.name} · ${me.roles.join(", ") || "no role"}`;
    $("whoami").dataset.address = me.address;
    showError("");
    return true;
  } catch (e) {
    sessionStorage.removeItem(KEY_STORE);
    $("whoami").textContent = "";
    delete $("whoami").dataset.address;
    showError(e.message);
    return false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await useKey($("api-key").value.trim())) await route();
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("search-input").value.trim();
    const kind = $("search-kind").value;
    const hash = `#/${kind === "auto" ? "search" : kind}/${encodeURIComponent(q)}`;
    if (location.hash === hash) route(); else location.hash = hash;
  });
  window.addEventListener("hashchange", route);
  const saved = sessionStorage.getItem(KEY_STORE);
  if (saved) useKey(saved).then((ok) => ok && route());
});
