// tradeactors operator dashboard: polls /api/dashboard every 2 s, keeps its own history for sparklines and
// growth rates, renders each area with a single innerHTML assignment. No dependencies, no outside assets.
"use strict";
(function () {
  const REFRESH_MS = 2000;
  const PROFILE_REFRESH_MS = 30000;
  const HISTORY_POINTS = 150;          // 5 minutes of polls
  const STALL_AFTER_MS = 10000;        // connected but no frame at all for this long (depth comes every 100 ms): stalled
  const TOKEN_KEY = "tradeactors.token";
  const $ = (id) => document.getElementById(id);

  const history = { symbols: new Map(), storage: [] };
  let lastData = null;
  let profileTimer = null;

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
    for (const [symbol, s] of Object.entries(data.status.symbols || {})) {
      let points = history.symbols.get(symbol);
      if (!points) { points = []; history.symbols.set(symbol, points); }
      const received = s.trades_received;
      if (received == null) continue;
      const previous = points[points.length - 1];
      if (previous && received < previous.received) points.length = 0;  // the stream actor restarted
      points.push({ t: now, received });
      if (points.length > HISTORY_POINTS) points.shift();
    }
    const size = data.status.storage && data.status.storage.size_on_disk;
    if (size != null) {
      history.storage.push({ t: now, size });
      if (history.storage.length > HISTORY_POINTS) history.storage.shift();
    }
  }

  function tradesPerMinute(points) {
    if (!points || points.length < 2) return null;
    const last = points[points.length - 1];
    let first = points[0];
    for (const p of points) { if (last.t - p.t <= 60000) { first = p; break; } }
    if (last.t === first.t) return null;
    return (last.received - first.received) / (last.t - first.t) * 60000;
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

  function streamState(s, now, config) {
    if (!s || !s.state) return "unavailable";
    if (s.state === "connected" && s.last_message_age_ms != null && s.last_message_age_ms > STALL_AFTER_MS) return "stalled";
    if (s.state !== "connected" && config && s.down_for_s > config.stream_down_alert) return "down";
    return s.state;
  }

  function bookCell(book, config) {
    const late = config && book.unsynced_for_s > config.book_unsynced_alert;
    const badge = book.state === "synced" ? "ok" : late ? "bad" : "warn";
    const since = book.state !== "synced" && book.unsynced_for_s ? ` <span class="muted">${formatAge(book.unsynced_for_s * 1000)}</span>` : "";
    return `<span class="badge ${badge}" data-book="${escapeHtml(book.state || "")}">${escapeHtml(book.state || "–")}</span>${since}` +
      `${book.resyncs ? ` <span class="muted">${book.resyncs} resyncs</span>` : ""}`;
  }

  function gapCell(gap, now) {
    if (!gap) return `<span class="muted">none</span>`;
    const range = `${gap.from_id}–${gap.to_id}`;
    if (gap.filled_at == null) return `<span class="badge warn">filling ${escapeHtml(range)}</span>`;
    const missing = gap.missing ? `, ${gap.missing} confirmed missing` : "";
    return `<span class="badge ${gap.missing ? "warn" : "ok"}" data-gap="filled">filled</span> ` +
      `${escapeHtml(range)} (${gap.fetched} fetched${missing}) ${formatAge(now - gap.filled_at)} ago`;
  }

  function renderSymbols(data) {
    const now = data.now_ms;
    const metrics = (data.metrics && data.metrics.symbols) || {};
    const gaps = (data.status.backfill && data.status.backfill.last_gap) || {};
    const rows = [];
    for (const [symbol, s] of Object.entries(data.status.symbols || {})) {
      const state = streamState(s, now, data.config);
      const m = metrics[symbol] || {};
      const book = s.book || {};
      const points = history.symbols.get(symbol);
      const rate = tradesPerMinute(points);
      const lag = m.store_lag_seconds;
      const age = s.last_trade_time != null ? now - s.last_trade_time : null;
      rows.push(`<tr data-symbol="${escapeHtml(symbol)}" data-state="${escapeHtml(state)}">` +
        `<td><b>${escapeHtml(symbol)}</b></td>` +
        `<td><span class="badge state-${escapeHtml(state)}">${escapeHtml(state)}</span></td>` +
        `<td title="id ${escapeHtml(s.last_trade_id)}">${formatAge(age)} ago</td>` +
        `<td>${bookCell(book, data.config)}</td>` +
        `<td>${lag == null ? "–" : formatAge(lag * 1000)}</td>` +
        `<td class="rate">${rate == null ? "–" : Math.round(rate)}</td>` +
        `<td>${sparkline(points)}</td>` +
        `<td>${m.reconnects ?? 0}${m.connection_failures ? ` <span class="muted">(${m.connection_failures} failed)</span>` : ""}</td>` +
        `<td>${gapCell(gaps[symbol], now)}</td></tr>`);
    }
    $("symbols-body").innerHTML = rows.join("");
    const options = Object.keys(data.status.symbols || {});
    const select = $("vp-symbol");
    if (select.options.length !== options.length) {
      const chosen = select.value;
      select.innerHTML = options.map((s) => `<option>${escapeHtml(s)}</option>`).join("");
      if (options.includes(chosen)) select.value = chosen;
    }
  }

  function actorItem(name, a) {
    const badge = a.alive ? `<span class="badge ok">alive</span>` : `<span class="badge bad">dead</span>`;
    const restarts = a.restarts ? ` <span class="badge warn">${a.restarts} restarts</span>` : "";
    return `<li data-actor="${escapeHtml(name)}">${escapeHtml(name)} ${badge}${restarts}</li>`;
  }

  function renderActors(data) {
    const actors = data.status.actors || {};
    const core = [], streams = [];
    let restarts = 0, dead = 0;
    for (const [name, a] of Object.entries(actors)) {
      (name.startsWith("stream:") ? streams : core).push(actorItem(name, a));
      restarts += a.restarts || 0;
      if (!a.alive) dead++;
    }
    $("actors").innerHTML = `<ul class="tree"><li>supervisor <span class="muted">(${restarts} restarts, ` +
      `${dead} dead)</span><ul>${core.join("")}<li>streams (${streams.length})<ul>${streams.join("")}</ul></li>` +
      `</ul></li></ul>`;
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
    const holes = Object.values(st.holes || {}).reduce((n, list) => n + list.length, 0);
    const errors = st.write_errors || 0;
    $("storage").innerHTML = `<table><tbody>` +
      `<tr><th>size on disk</th><td id="storage-size">${formatBytes(st.size_on_disk)}</td></tr>` +
      `<tr><th>growth</th><td>${growth}</td></tr>` +
      `<tr><th>batches written</th><td>${st.batches_written ?? "–"}</td></tr>` +
      `<tr><th>bytes written</th><td>${formatBytes(m.bytes_written)}</td></tr>` +
      `<tr><th>write errors</th><td><span class="badge ${errors ? "bad" : "ok"}">${errors}</span></td></tr>` +
      `<tr><th>trades pending after errors</th><td>${st.pending_trades ?? "–"}</td></tr>` +
      `<tr><th>open id holes</th><td>${holes}</td></tr>` +
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
    const now = data.now_ms;
    const states = Object.values(data.status.symbols || {}).map((s) => streamState(s, now, data.config));
    const dead = Object.values(data.status.actors || {}).some((a) => !a.alive);
    const health = data.health || { healthy: true, reasons: [] };
    const healthy = health.healthy && !dead && states.every((s) => s === "connected");
    const el = $("overall");
    el.className = `badge ${healthy ? "ok" : !health.healthy || dead || states.some((s) => s === "stalled" || s === "unavailable") ? "bad" : "warn"}`;
    el.textContent = healthy ? "healthy" : !health.healthy ? "unhealthy" : dead ? "actor down" : "degraded";
    $("health-reasons").innerHTML = health.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join("");
    $("health-reasons").hidden = !health.reasons.length;
    $("updated").textContent = `updated ${new Date(now).toLocaleTimeString()} · v${data.version}`;
  }

  function render(data) {
    lastData = data;
    remember(data);
    renderOverall(data);
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

  async function refresh() {
    try {
      const r = await api("/api/dashboard");
      if (!r.ok || !r.body || !r.body.status) {
        const err = (r.body && r.body.error) || {};
        throw new Error(`${r.status} ${err.message || ""}`);
      }
      $("error").hidden = true;
      render(r.body);
      if (profileTimer === null) { profileTimer = setInterval(loadProfile, PROFILE_REFRESH_MS); loadProfile(); }
    } catch (e) {
      if (e instanceof Unauthorized) showTokenForm(e.message);
      else { $("error").hidden = false; $("error").textContent = `cannot reach the service: ${e.message}`; }
      $("overall").className = "badge bad";
      $("overall").textContent = e instanceof Unauthorized ? "token needed" : "unreachable";
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
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

  window.tradeactorsDashboard = { render, refresh, loadProfile, drawProfile, history, get lastData() { return lastData; } };
  refresh();
})();
