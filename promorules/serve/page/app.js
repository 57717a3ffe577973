// The planners' page: pick a ruleset and a moment, build a cart, price it, validate.
// Every value from the server or the catalogue is put in the page as text, never as HTML.
"use strict";

const state = { rulesets: [], lines: [] };
const $ = (id) => document.getElementById(id);

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function clear(tbody) {
  while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
}

function showError(text) {
  $("error").textContent = text || "";
}

async function call(method, url, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json();
  if (!response.ok) {
    const errors = (data.errors || []).map((e) => `${e.code} ${e.path ? e.path + ": " : ""}${e.message}`);
    throw new Error(errors.join("\n") || data.error || `HTTP ${response.status}`);
  }
  return data;
}

function current() {
  return state.rulesets.find((r) => r.name === $("ruleset").value);
}

function localInput(iso) {
  // "2026-11-11T00:00:00+08:00" -> "2026-11-11T00:00:00" (the campaign's own zone)
  return iso.slice(0, 19);
}

function showRuleset() {
  const r = current();
  $("version").textContent = r ? `version ${r.version}, ${r.promotions.length} promotions, ${r.timezone}` : "";
  const phases = $("phases");
  while (phases.firstChild) phases.removeChild(phases.firstChild);
  for (const p of r ? r.phases : []) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "phase";
    b.textContent = p.name;
    b.title = `${p.start} .. ${p.end}`;
    b.addEventListener("click", () => { $("at").value = localInput(p.start); });
    phases.appendChild(b);
  }
  if (r && r.phases.length && !$("at").value) $("at").value = localInput(r.phases[0].start);
}

function renderCart() {
  const body = $("cart").tBodies[0];
  clear(body);
  state.lines.forEach((line, k) => {
    const row = body.insertRow();
    cell(row, line.sku);
    const qty = document.createElement("input");
    qty.type = "number"; qty.min = "1"; qty.value = line.quantity; qty.size = 4;
    qty.setAttribute("aria-label", `quantity of ${line.sku}`);
    qty.addEventListener("change", () => { line.quantity = Math.max(1, parseInt(qty.value, 10) || 1); });
    row.insertCell().appendChild(qty);
    cell(row, line.unit_price || line.catalog_price || "", "num");
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "remove";
    remove.addEventListener("click", () => { state.lines.splice(k, 1); renderCart(); });
    row.insertCell().appendChild(remove);
  });
}

function addLine(item) {
  const found = state.lines.find((l) => l.sku === item.sku && !l.unit_price);
  if (found) found.quantity += 1;
  else state.lines.push({ sku: item.sku, quantity: 1, catalog_price: item.unit_price });
  renderCart();
}

let searching = 0;
async function search() {
  const mine = ++searching;
  const q = $("search").value;
  const items = await call("GET", `/v1/catalog?q=${encodeURIComponent(q)}`);
  if (mine !== searching) return;
  const list = $("results");
  while (list.firstChild) list.removeChild(list.firstChild);
  for (const item of items) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button"; b.textContent = "add";
    b.dataset.sku = item.sku;
    b.addEventListener("click", () => addLine(item));
    li.appendChild(b);
    li.appendChild(document.createTextNode(
      ` ${item.sku} ${item.title || ""} ${item.unit_price || ""} (${item.merchant || "-"}, ${item.category || "-"})`));
    list.appendChild(li);
  }
}

function words(text) {
  return text.split(",").map((s) => s.trim()).filter((s) => s);
}

function cartDocument() {
  const doc = {
    customer: { id: "page", segments: words($("segments").value) },
    lines: state.lines.map((l) => {
      const line = { sku: l.sku, quantity: l.quantity };
      for (const key of ["unit_price", "unit_cost", "category", "brand", "merchant", "deposit_paid"]) {
        if (l[key] !== undefined && l[key] !== null) line[key] = l[key];
      }
      return line;
    }),
  };
  if ($("at").value) doc.at = $("at").value;
  const coupons = words($("coupons").value);
  if (coupons.length) doc.coupons = coupons;
  if ($("shipping").value.trim()) doc.shipping = $("shipping").value.trim();
  return doc;
}

function titleOf(id) {
  const r = current();
  const p = r && r.promotions.find((x) => x.id === id);
  return p && p.title ? `${p.title} (${id})` : id;
}

async function price() {
  showError("");
  if (!state.lines.length) { showError("add a line to the cart first"); return; }
  try {
    const q = await call("POST", `/v1/price?ruleset=${encodeURIComponent($("ruleset").value)}&explain=true`, cartDocument());
    $("quote").hidden = false;
    $("priced-under").textContent = `${q.ruleset.name} ${q.ruleset.version} at ${q.at}`;
    const lines = $("lines").tBodies[0];
    clear(lines);
    for (const l of q.lines) {
      const row = lines.insertRow();
      cell(row, l.gift ? `${l.sku} (gift)` : l.sku);
      cell(row, l.quantity, "num");
      cell(row, l.list_amount, "num");
      cell(row, l.adjustments.map((a) => `-${a.amount} ${a.promotion} (${a.lane})`).join("\n"));
      cell(row, l.payable, "num");
      cell(row, l.margin, "num");
    }
    const totals = $("totals").tBodies[0];
    clear(totals);
    const rows = [["list", q.totals.list], ["discounts", q.totals.discount], ["shipping", q.totals.shipping],
      ["cost", q.totals.cost], ["margin", q.totals.margin]];
    for (const [funder, amount] of Object.entries(q.totals.by_funder)) rows.push([`funded by ${funder}`, amount]);
    for (const p of q.payments) rows.push([p.label, p.amount]);
    for (const [name, value] of rows) { const row = totals.insertRow(); cell(row, name); cell(row, value, "num"); }
    $("payable").textContent = q.totals.payable;
    $("guardrail-status").textContent = q.guardrail.status;
    const floors = $("floors").tBodies[0];
    clear(floors);
    for (const f of q.guardrail.floors) {
      const row = floors.insertRow();
      cell(row, f.name); cell(row, f.minimum, "num"); cell(row, f.margin, "num"); cell(row, f.held ? "held" : "BROKEN");
    }
    const why = $("explanations").tBodies[0];
    clear(why);
    for (const e of q.explanations) {
      const row = why.insertRow();
      cell(row, titleOf(e.promotion)); cell(row, e.lane); cell(row, e.status); cell(row, e.amount, "num"); cell(row, e.message);
    }
  } catch (err) {
    showError(err.message);
  }
}

function loadCart(cart) {
  state.lines = cart.lines.map((l) => ({ ...l }));
  if (cart.at) $("at").value = localInput(cart.at);
  $("coupons").value = (cart.coupons || []).join(", ");
  $("segments").value = ((cart.customer || {}).segments || []).join(", ");
  renderCart();
}

async function validate() {
  showError("");
  $("validation").hidden = false;
  $("validation-summary").textContent = "validating...";
  try {
    const report = await call("POST", `/v1/validate?ruleset=${encodeURIComponent($("ruleset").value)}`);
    $("validation-summary").textContent = `${report.seconds} s`;
    const body = $("verdicts").tBodies[0];
    clear(body);
    for (const v of report.guardrails) {
      const row = body.insertRow();
      cell(row, v.label || v.floor); cell(row, v.minimum, "num");
      cell(row, v.status, v.status.toLowerCase());
      cell(row, (v.fails_on || []).join(", "));
      const actions = row.insertCell();
      if (v.breach) {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = "load counterexample";
        b.className = "counterexample";
        b.addEventListener("click", () => { loadCart(v.breach.cart); price(); });
        actions.appendChild(b);
      }
    }
  } catch (err) {
    $("validation-summary").textContent = "";
    showError(err.message);
  }
}

async function start() {
  try {
    state.rulesets = await call("GET", "/v1/rulesets");
  } catch (err) {
    showError(err.message);
    return;
  }
  const select = $("ruleset");
  for (const r of state.rulesets) {
    const option = document.createElement("option");
    option.value = r.name; option.textContent = r.name;
    select.appendChild(option);
  }
  select.addEventListener("change", showRuleset);
  showRuleset();
  $("search").addEventListener("input", () => { search().catch((e) => showError(e.message)); });
  $("price").addEventListener("click", price);
  $("validate").addEventListener("click", validate);
  search().catch((e) => showError(e.message));
  document.body.dataset.ready = "true";
}

start();
