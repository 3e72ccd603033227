// tradeactors operator dashboard: polls /api/dashboard every 2 s for the counts by state and one page of the
// symbol table (filtered, sorted and paged by the server, so 1,500 symbols never become 1,500 rows), keeps its
// own history of the rows it has shown for the sparklines and of the storage size for its growth rate, and
// renders each area with a single innerHTML assignment. No dependencies, no outside assets.
"use strict";
(function () {
  const REFRESH_MS = 2000;
  const PROFILE_REFRESH_MS = 30000;
  const FILTER_DELAY_MS = 250;         // typing in the filter asks once it pauses
  const HISTORY_POINTS = 150;          // 5 minutes of polls
  const HISTORY_KEEP_MS = 300000;      // a symbol not shown for this long loses its history
  const TOKEN_KEY = "tradeactors.token";
  const REASON_LABELS = { unavailable: "actor unavailable", down: "down", not_connected: "not connected",
    stalled: "stalled", unsynced: "book unsynced", holes: "open holes", lagging: "store lagging" };
  const DESCENDING_FIRST = new Set(["last_trade", "trades_per_min", "store_lag", "reconnects"]);
  const $ = (id) => document.getElementById(id);

  const history = { symbols: new Map(), storage: [] };
  const view = { q: "", state: "", sort: "attention", order: "asc", offset: 0, limit: 50 };
  let lastData = null;
  let profileTimer = null;
  let refreshTimer = null;
  let inFlight = false;
  let again = false;

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
      "'": "&#39;" }[c]));
  }

  function formatBytes(n) {
    if (n == null) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
  }

  function formatAge(ms) {
    if (ms == null || !isFinite(ms)) return "–";
    if (ms < 0) ms = 0;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  }

  // --- API ------------------------------------------------------------------------------------------

  class Unauthorized extends Error {}

  async function api(path) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 401) throw new Unauthorized("missing or invalid bearer token");
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return { status: response.status, ok: response.ok, body };
  }

  function showTokenForm(message) {
    $("token-form").hidden = false;
    $("token-message").textContent = message || "";
  }

  // --- history ---------------------------------------------------------------------------------------

  function remember(data) {
    const now = data.now_ms;
    for (const row of data.rows || []) {
      let entry = history.symbols.get(row.symbol);
      if (!entry) { entry = { seen: now, points: [] }; history.symbols.set(row.symbol, entry); }
      entry.seen = now;
      const points = entry.points;
      const received = row.trades_received;
      if (received == null) continue;
      const previous = points[points.length - 1];
      if (previous && received < previous.received) points.length = 0;  // the stream actor restarted
      points.push({ t: now, received });
      if (points.length > HISTORY_POINTS) points.shift();
    }
    for (const [symbol, entry] of history.symbols) {
      if (now - entry.seen > HISTORY_KEEP_MS) history.symbols.delete(symbol);  // left the page, or delisted
    }
    const size = data.status.storage && data.status.storage.size_on_disk;
    if (size != null) {
      history.storage.push({ t: now, size });
      if (history.storage.length > HISTORY_POINTS) history.storage.shift();
    }
  }

  function sparkline(points) {
    const rates = [];
    for (let i = 1; i < (points ? points.length : 0); i++) {
      const dt = points[i].t - points[i - 1].t;
      if (dt > 0) rates.push((points[i].received - points[i - 1].received) / dt * 60000);
    }
    const w = 120, h = 24;
    if (rates.length < 2) return `<svg class="spark" width="${w}" height="${h}"></svg>`;
    const max = Math.max(...rates, 1);
    const step = w / (rates.length - 1);
    const coords = rates.map((r, i) => `${(i * step).toFixed(1)},${(h - 2 - (r / max) * (h - 4)).toFixed(1)}`);
    return `<svg class="spark" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><polyline points="${coords.join(" ")}"/></svg>`;
  }

  // --- rendering -------------------------------------------------------------------------------------

  function bookCell(row, config) {
    const late = config && row.book_unsynced_for_s > config.book_unsynced_alert;
    const badge = row.book === "synced" ? "ok" : late || row.book === "unavailable" ? "bad" : "warn";
    const since = row.book !== "synced" && row.book_unsynced_for_s ? ` <span class="muted">${formatAge(row.book_unsynced_for_s * 1000)}</span>` : "";
    return `<span class="badge ${badge}" data-book="${escapeHtml(row.book)}">${escapeHtml(row.book)}</span>${since}` +
      `${row.resyncs ? ` <span class="muted">${row.resyncs} resyncs</span>` : ""}`;
  }

  function gapCell(gap, now) {
    if (!gap) return `<span class="muted">none</span>`;
    const range = `${gap.from_id}–${gap.to_id}`;
    if (gap.filled_at == null) return `<span class="badge warn">filling ${escapeHtml(range)}</span>`;
    const missing = gap.missing ? `, ${gap.missing} confirmed missing` : "";
    return `<span class="badge ${gap.missing ? "warn" : "ok"}" data-gap="filled">filled</span> ` +
      `${escapeHtml(range)} (${gap.fetched} fetched${missing}) ${formatAge(now - gap.filled_at)} ago`;
  }

  function attentionCell(reasons) {
    if (!reasons.length) return `<span class="muted">–</span>`;
    return reasons.map((r) => `<span class="badge reason ${r === "holes" || r === "lagging" || r === "unsynced" ? "warn" : "bad"}">` +
      `${escapeHtml(REASON_LABELS[r] || r)}</span>`).join("");
  }

  function renderSymbols(data) {
    const now = data.now_ms;
    const rows = [];
    for (const row of data.rows || []) {
      const entry = history.symbols.get(row.symbol);
      const age = row.last_trade_time != null ? now - row.last_trade_time : null;
      const rate = row.trades_per_min;
      rows.push(`<tr data-symbol="${escapeHtml(row.symbol)}" data-state="${escapeHtml(row.state)}" ` +
        `data-book="${escapeHtml(row.book)}" data-attention="${escapeHtml(row.attention.join(" "))}">` +
        `<td><b>${escapeHtml(row.symbol)}</b></td>` +
        `<td><span class="badge state-${escapeHtml(row.state)}">${escapeHtml(row.state)}</span></td>` +
        `<td title="id ${escapeHtml(row.last_trade_id)}">${age == null ? "–" : `${formatAge(age)} ago`}</td>` +
        `<td>${bookCell(row, data.config)}</td>` +
        `<td class="num">${row.store_lag_s == null ? "–" : formatAge(row.store_lag_s * 1000)}</td>` +
        `<td class="rate">${rate == null ? "–" : Math.round(rate)}</td>` +
        `<td>${sparkline(entry && entry.points)}</td>` +
        `<td class="num">${row.reconnects}${row.connection_failures ? ` <span class="muted">(${row.connection_failures} failed)</span>` : ""}</td>` +
        `<td>${gapCell(row.last_gap, now)}</td>` +
        `<td>${attentionCell(row.attention)}</td></tr>`);
    }
    $("symbols-body").innerHTML = rows.join("");
    const page = data.page;
    const first = page.matched ? page.offset + 1 : 0;
    $("page-info").textContent = `${first}–${page.offset + (data.rows || []).length} of ${page.matched}` +
      (page.matched !== page.total ? ` (filtered from ${page.total})` : "");
    $("page-prev").disabled = page.offset === 0;
    $("page-next").disabled = page.offset + page.limit >= page.matched;
    for (const th of document.querySelectorAll("#symbols th[data-sort]")) {
      const sorted = th.dataset.sort === view.sort;
      if (sorted) th.setAttribute("aria-sort", view.order === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    const options = data.config.symbols || [];
    const select = $("vp-symbol");
    const joined = options.join(",");
    if (select.dataset.symbols !== joined) {  // symbols may be added or removed while the page is open
      const chosen = select.value;
      select.innerHTML = options.map((s) => `<option>${escapeHtml(s)}</option>`).join("");
      select.dataset.symbols = joined;
      if (options.includes(chosen)) select.value = chosen;
    }
  }

  function chip(filter, label, count, tone) {
    const active = view.state === filter ? " active" : "";
    return `<button type="button" class="chip ${count ? tone : ""}${active}" data-filter="${escapeHtml(filter)}">` +
      `${escapeHtml(label)} <b data-count="${escapeHtml(filter)}">${count}</b></button>`;
  }

  function renderCounts(data) {
    const sm = data.summary;
    // The states and reasons, in their order, are the summary's keys (parameters.py lists them once).
    const states = Object.keys(sm.streams);
    const reasons = Object.keys(sm.attention_by_reason).filter((r) => !states.includes(r));
    const select = $("state-filter");
    if (select.options.length === 1) {
      select.innerHTML += ["attention", ...states, ...reasons].map((s) => `<option value="${escapeHtml(s)}">` +
        `${escapeHtml(s === "attention" ? "need attention" : REASON_LABELS[s] || s)}</option>`).join("");
      select.value = view.state;
    }
    const parts = [chip("", "symbols", sm.symbols, "ok"), chip("attention", "need attention", sm.attention, "bad")];
    for (const state of states) {
      if (state === "connected" || sm.streams[state]) parts.push(chip(state, state, sm.streams[state], state === "connected" ? "ok" : "bad"));
    }
    for (const reason of reasons) {
      if (sm.attention_by_reason[reason]) {
        parts.push(chip(reason, REASON_LABELS[reason] || reason, sm.attention_by_reason[reason], "warn"));
      }
    }
    const books = Object.entries(sm.books).map(([state, n]) => `${escapeHtml(state)} ${n}`).join(", ");
    const rate = sm.trades_per_min == null ? "–" : Math.round(sm.trades_per_min).toLocaleString("en");
    parts.push(`<span class="muted">books: ${books || "–"} · ${rate} trades/min · ${sm.holes} open holes</span>`);
    $("counts").innerHTML = parts.join("");
  }

  function actorItem(name, a) {
    const badge = a.alive ? `<span class="badge ok">alive</span>` : `<span class="badge bad">dead</span>`;
    const restarts = a.restarts ? ` <span class="badge warn">${a.restarts} restarts</span>` : "";
    return `<li data-actor="${escapeHtml(name)}">${escapeHtml(name)} ${badge}${restarts}</li>`;
  }

  function renderActors(data) {
    const actors = data.status.actors || {};
    const counts = data.status.stream_actors || { streams: 0, alive: 0, restarts: 0 };
    const core = [], streams = [];
    let restarts = counts.restarts, dead = counts.streams - counts.alive;
    for (const [name, a] of Object.entries(actors)) {
      if (name.startsWith("stream:")) { streams.push(actorItem(name, a)); continue; }
      core.push(actorItem(name, a));
      restarts += a.restarts || 0;
      if (!a.alive) dead++;
    }
    const hidden = counts.streams - streams.length;
    const more = hidden > 0 ? `<li class="muted">${hidden} more, alive and never restarted</li>` : "";
    $("actors").innerHTML = `<ul class="tree"><li>supervisor <span class="muted">(${restarts} restarts, ` +
      `${dead} dead)</span><ul>${core.join("")}<li>streams (${counts.streams}: ${counts.alive} alive, ` +
      `${counts.restarts} restarts)<ul>${streams.join("")}${more}</ul></li></ul></li></ul>`;
  }

  function renderStorage(data) {
    const st = data.status.storage || {};
    const m = data.metrics || {};
    const rest = data.status.rest || {};
    let growth = "–";
    const h = history.storage;
    if (h.length >= 2 && h[h.length - 1].t - h[0].t >= 10000) {
      const perHour = (h[h.length - 1].size - h[0].size) / (h[h.length - 1].t - h[0].t) * 3600000;
      growth = `${formatBytes(perHour)}/h`;
    }
    const errors = st.write_errors || 0;
    $("storage").innerHTML = `<table><tbody>` +
      `<tr><th>size on disk</th><td id="storage-size">${formatBytes(st.size_on_disk)}</td></tr>` +
      `<tr><th>growth</th><td>${growth}</td></tr>` +
      `<tr><th>batches written</th><td>${st.batches_written ?? "–"}</td></tr>` +
      `<tr><th>bytes written</th><td>${formatBytes(m.bytes_written)}</td></tr>` +
      `<tr><th>write errors</th><td><span class="badge ${errors ? "bad" : "ok"}">${errors}</span></td></tr>` +
      `<tr><th>trades pending after errors</th><td>${st.pending_trades ?? "–"}</td></tr>` +
      `<tr><th>open id holes</th><td>${data.summary.holes}</td></tr>` +
      `<tr><th>REST weight this minute</th><td>${rest.weight_used_this_minute ?? "–"} / ${rest.weight_limit ?? "–"}</td></tr>` +
      `</tbody></table>`;
  }

  function renderLogs(data) {
    const records = (data.logs || []).slice().reverse();
    $("logs").innerHTML = records.length ? records.map((r) =>
      `<li class="${escapeHtml(r.level)}">${new Date(r.ts).toLocaleTimeString()} ${escapeHtml(r.level)} ` +
      `[${escapeHtml(r.thread)}] ${escapeHtml(r.message)}</li>`).join("") : `<li class="muted">none</li>`;
  }

  function renderOverall(data) {
    const sm = data.summary;
    const counts = data.status.stream_actors || { streams: 0, alive: 0 };
    const dead = counts.alive < counts.streams || Object.values(data.status.actors || {}).some((a) => !a.alive);
    const health = data.health || { healthy: true, reasons: [], reasons_total: 0 };
    const healthy = health.healthy && !dead && sm.streams.connected === sm.symbols;
    const el = $("overall");
    el.className = `badge ${healthy ? "ok" : !health.healthy || dead || sm.streams.stalled || sm.streams.unavailable ? "bad" : "warn"}`;
    el.textContent = healthy ? "healthy" : !health.healthy ? "unhealthy" : dead ? "actor down" : "degraded";
    const more = health.reasons_total - health.reasons.length;
    $("health-reasons").innerHTML = health.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join("") +
      (more > 0 ? `<li class="muted">and ${more} more (GET /api/health lists them all)</li>` : "");
    $("health-reasons").hidden = !health.reasons.length;
    $("updated").textContent = `updated ${new Date(data.now_ms).toLocaleTimeString()} · v${data.version}`;
  }

  function render(data) {
    lastData = data;
    remember(data);
    renderOverall(data);
    renderCounts(data);
    renderSymbols(data);
    renderActors(data);
    renderStorage(data);
    renderLogs(data);
  }

  // --- volume profile --------------------------------------------------------------------------------

  function drawProfile(p) {
    const bins = (p.histogram || []).slice().sort((a, b) => parseFloat(b.price_low) - parseFloat(a.price_low));
    if (!bins.length) { $("vp-chart").innerHTML = ""; $("vp-message").textContent = "no bins"; return; }
    const W = 820, left = 110, right = 170, rowH = Math.max(2, Math.min(14, Math.floor(480 / bins.length)));
    const H = rowH * bins.length + 20;
    const maxVol = Math.max(...bins.map((b) => parseFloat(b.volume)), 1e-12);
    const poc = parseFloat(p.point_of_control), val = parseFloat(p.value_area_low), vah = parseFloat(p.value_area_high);
    const parts = [];
    let pocY = null, vaTop = null, vaBottom = null;
    bins.forEach((b, i) => {
      const lo = parseFloat(b.price_low), hi = parseFloat(b.price_high);
      const y = 10 + i * rowH;
      const width = (parseFloat(b.volume) / maxVol) * (W - left - right);
      const isPoc = lo <= poc && poc <= hi;
      const inVa = lo >= val && hi <= vah;
      if (inVa) { if (vaTop === null) vaTop = y; vaBottom = y + rowH; }
      if (isPoc) pocY = y + rowH / 2;
      parts.push(`<rect class="bar${inVa ? " in-va" : ""}${isPoc ? " poc" : ""}" x="${left}" y="${y}" ` +
        `width="${width.toFixed(1)}" height="${Math.max(1, rowH - 1)}"><title>${escapeHtml(b.price_low)}–` +
        `${escapeHtml(b.price_high)}: ${escapeHtml(b.volume)} (${b.trade_count} trades)</title></rect>`);
    });
    const band = vaTop === null ? "" :
      `<rect class="va-band" x="0" y="${vaTop}" width="${W}" height="${vaBottom - vaTop}"/>` +
      `<text x="${W - right + 4}" y="${vaTop + 10}">VAH ${escapeHtml(p.value_area_high)}</text>` +
      `<text x="${W - right + 4}" y="${vaBottom - 2}">VAL ${escapeHtml(p.value_area_low)}</text>`;
    const pocLine = pocY === null ? "" :
      `<line class="poc-line" x1="${left}" x2="${W - right}" y1="${pocY}" y2="${pocY}"/>` +
      `<text class="poc-label" x="4" y="${pocY + 4}">POC ${escapeHtml(p.point_of_control)}</text>`;
    const axis = `<text x="4" y="18">${escapeHtml(bins[0].price_high)}</text>` +
      `<text x="4" y="${H - 8}">${escapeHtml(bins[bins.length - 1].price_low)}</text>`;
    $("vp-chart").innerHTML = `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" ` +
      `aria-label="volume profile of ${escapeHtml(p.symbol)}">${band}${parts.join("")}${pocLine}${axis}</svg>`;
    $("vp-message").textContent = "";
    $("vp-summary").textContent = `${p.trade_count} trades, ${p.bin_count} bins of ${p.bin_size}, POC ` +
      `${p.point_of_control}, value area ${p.value_area_low}–${p.value_area_high}`;
  }

  async function loadProfile() {
    const symbol = $("vp-symbol").value;
    const hours = $("vp-hours").value;
    if (!symbol) return;
    try {
      const query = new URLSearchParams({ symbol, duration_hours: hours });
      const r = await api(`/api/volume_profile?${query}`);
      if (r.ok) { drawProfile(r.body); return; }
      const err = (r.body && r.body.error) || {};
      $("vp-chart").innerHTML = "";
      $("vp-summary").textContent = "";
      $("vp-message").textContent = r.status === 404 && err.code === "not_found"
        ? "this service does not provide /api/volume_profile yet"
        : `${r.status} ${err.code || ""}: ${err.message || "no answer"}`;
    } catch (e) {
      if (e instanceof Unauthorized) showTokenForm(e.message);
      else $("vp-message").textContent = `volume profile failed: ${e.message}`;
    }
  }

  // --- refresh loop ----------------------------------------------------------------------------------

  function query() {
    const params = new URLSearchParams({ sort: view.sort, order: view.order, offset: view.offset, limit: view.limit });
    if (view.q) params.set("q", view.q);
    if (view.state) params.set("state", view.state);
    return params.toString();
  }

  // One request at a time; a change of filter, sort or page while one is out asks again as soon as it is back.
  async function refresh() {
    if (inFlight) { again = true; return; }
    clearTimeout(refreshTimer);
    inFlight = true;
    const asked = query();
    try {
      const r = await api(`/api/dashboard?${asked}`);
      if (!r.ok || !r.body || !r.body.summary) {
        const err = (r.body && r.body.error) || {};
        throw new Error(`${r.status} ${err.message || ""}`);
      }
      $("error").hidden = true;
      const page = r.body.page;
      if (page.offset > 0 && page.offset >= page.matched) {  // the list shrank under the page (symbols removed)
        view.offset = Math.max(0, Math.floor((page.matched - 1) / view.limit) * view.limit);
        again = true;
      } else if (asked === query()) {
        render(r.body);
      }
      if (profileTimer === null) { profileTimer = setInterval(loadProfile, PROFILE_REFRESH_MS); loadProfile(); }
    } catch (e) {
      if (e instanceof Unauthorized) showTokenForm(e.message);
      else { $("error").hidden = false; $("error").textContent = `cannot reach the service: ${e.message}`; }
      $("overall").className = "badge bad";
      $("overall").textContent = e instanceof Unauthorized ? "token needed" : "unreachable";
    } finally {
      inFlight = false;
      if (again) { again = false; refresh(); } else refreshTimer = setTimeout(refresh, REFRESH_MS);
    }
  }

  function changeView(changes) {
    Object.assign(view, changes);
    refresh();
  }

  let filterTimer = null;
  $("filter").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      const q = $("filter").value.replace(/[^A-Za-z0-9]/g, "").slice(0, 20).toUpperCase();
      if (q !== view.q) changeView({ q, offset: 0 });
    }, FILTER_DELAY_MS);
  });
  $("state-filter").addEventListener("change", () => changeView({ state: $("state-filter").value, offset: 0 }));
  $("counts").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-filter]");
    if (!button) return;
    $("state-filter").value = button.dataset.filter;
    changeView({ state: button.dataset.filter, offset: 0 });
  });
  $("page-size").addEventListener("change", () => changeView({ limit: Number($("page-size").value), offset: 0 }));
  $("page-prev").addEventListener("click", () => changeView({ offset: Math.max(0, view.offset - view.limit) }));
  $("page-next").addEventListener("click", () => changeView({ offset: view.offset + view.limit }));
  $("table-controls").addEventListener("submit", (event) => event.preventDefault());
  for (const th of document.querySelectorAll("#symbols th[data-sort]")) {
    const sortBy = () => {
      const column = th.dataset.sort;
      const order = column === view.sort ? (view.order === "asc" ? "desc" : "asc")
        : DESCENDING_FIRST.has(column) ? "desc" : "asc";
      changeView({ sort: column, order, offset: 0 });
    };
    th.tabIndex = 0;  // sortable from the keyboard too
    th.title = "sort by this column";
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(); }
    });
  }

  $("token-button").addEventListener("click", () => showTokenForm(""));
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    $("token-input").value = "";
    $("token-form").hidden = true;
    loadProfile();
  });
  $("vp-form").addEventListener("submit", (event) => { event.preventDefault(); loadProfile(); });

  window.tradeactorsDashboard = { render, refresh, loadProfile, drawProfile, history, view,
    get lastData() { return lastData; } };
  refresh();
})();
