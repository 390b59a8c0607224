// The operator view. Polls the gateway's own GET /stats (prom-client's registry as JSON) every
// few seconds, keeps a few minutes of snapshots in memory and draws the figures as small SVG
// charts. It only reads: there is nothing here that changes the service.
//
// Several gateways may share one port (SO_REUSEPORT): each poll reaches one of them. Snapshots
// are kept per gateway id; counters become rates within one gateway's own snapshots, and totals
// add up the latest snapshot of every gateway seen recently.

const POLL_MS = 2000;
/** Rates and percentiles cover this much time. */
const WINDOW_MS = 60_000;
/** Charts show up to this much time… */
const SPAN_MS = 5 * 60_000;
/** …and at least this much, so that the first readings do not fill the width. */
const MIN_SPAN_MS = 60_000;
/** A gateway not seen for this long is left out of the totals (and shown greyed). */
const LIVE_MS = 30_000;
/** …and forgotten after this long. */
const FORGET_MS = 5 * 60_000;

const SVG_NS = 'http://www.w3.org/2000/svg';
const token = new URLSearchParams(location.search).get('token');

/**
 * @typedef {{ les: number[], counts: number[], count: number, sum: number }} Histogram  cumulative buckets
 * @typedef {object} Snapshot  one gateway's figures at one moment
 * @property {number} at
 * @property {number} sockets
 * @property {number} sessions
 * @property {number} subscriptions
 * @property {Record<string, number>} turns  by outcome
 * @property {Record<string, number>} errors  by code
 * @property {Record<string, number>} framesIn  by kind
 * @property {Record<string, number>} connections  by result
 * @property {Record<string, number> | null} queue  by state, summed over the queue shards
 * @property {Record<string, number> | null} queueDepthByShard  waiting + prioritized per queue shard
 * @property {Histogram | null} ttft
 * @property {Histogram | null} answer
 * @property {Histogram | null} lag
 * @property {number | null} cacheHits  completed turns answered from the response cache
 */

const state = {
  /** @type {Map<string, Snapshot[]>} */
  gateways: new Map(),
  /** @type {string | null} */
  lastGateway: null,
  /** @type {Record<string, Array<{t: number, v: Array<number | null>}>>} */
  series: {},
  paused: false,
  timer: 0,
  inFlight: false,
};

const pollStatus = /** @type {HTMLElement} */ (document.getElementById('poll-status'));
const pollText = /** @type {HTMLElement} */ (document.getElementById('poll-text'));
const pauseButton = /** @type {HTMLButtonElement} */ (document.getElementById('pause'));
const errorBox = /** @type {HTMLElement} */ (document.getElementById('ops-error'));

// ---------------------------------------------------------------------------------- polling

async function poll() {
  if (state.paused || state.inFlight) return;
  state.inFlight = true;
  try {
    const response = await fetch('/stats', {
      cache: 'no-store',
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    if (response.status === 401) {
      setStatus('error', 'Token needed');
      showError('This view needs the operator token: open it as /ops?token=<token>.');
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    ingest(await response.json());
    render();
    setStale(false);
    errorBox.hidden = true;
    setStatus('live', `Live · ${new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`);
  } catch (err) {
    setStale(true);
    setStatus('error', 'Unreachable');
    showError(`Cannot read /stats (${err instanceof Error ? err.message : String(err)}). Retrying…`);
  } finally {
    state.inFlight = false;
    schedule();
  }
}

function schedule() {
  clearTimeout(state.timer);
  if (!state.paused) state.timer = window.setTimeout(poll, POLL_MS);
}

pauseButton.addEventListener('click', () => {
  state.paused = !state.paused;
  pauseButton.setAttribute('aria-pressed', String(state.paused));
  pauseButton.textContent = state.paused ? 'Resume' : 'Pause';
  if (state.paused) {
    clearTimeout(state.timer);
    setStatus('paused', 'Paused');
  } else {
    void poll();
  }
});

// A hidden tab does not poll; it catches up when shown again.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) clearTimeout(state.timer);
  else if (!state.paused) void poll();
});

/**
 * /stats could not be read: the figures on screen are old. They go grey and say "stale", and
 * every chart gets a point without a value, so the time without data is drawn as a gap rather
 * than a line joining the last reading before it to the first after.
 */
function setStale(stale) {
  const was = document.body.dataset.stale === 'true';
  document.body.dataset.stale = String(stale);
  for (const el of document.querySelectorAll('[data-figure]')) {
    if (stale) el.setAttribute('title', 'stale: /stats cannot be read');
    else el.removeAttribute('title');
  }
  if (stale && !was) for (const name of Object.keys(state.series)) record(name, Date.now(), []);
}

function setStatus(kind, text) {
  pollStatus.dataset.state = kind;
  pollText.textContent = text;
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = false;
}

// ---------------------------------------------------------------------------------- reading /stats

function ingest(stats) {
  const snapshot = snapshotOf(stats);
  const id = String(stats.gateway_id ?? 'gateway');
  const list = state.gateways.get(id) ?? [];
  list.push(snapshot);
  while (list.length > 0 && list[0].at < snapshot.at - SPAN_MS) list.shift();
  state.gateways.set(id, list);
  state.lastGateway = id;
  for (const [gateway, snapshots] of state.gateways) {
    if (snapshot.at - snapshots[snapshots.length - 1].at > FORGET_MS) state.gateways.delete(gateway);
  }
}

/** @returns {Snapshot} */
function snapshotOf(stats) {
  const m = stats.metrics ?? {};
  return {
    at: Date.now(),
    sockets: Number(stats.active_connections ?? total(m.chat_gateway_open_sockets)),
    sessions: Number(stats.active_sessions ?? total(m.chat_gateway_active_sessions)),
    subscriptions: total(m.chat_gateway_subscriptions),
    turns: byLabel(m.chat_gateway_turns_ended_total, 'outcome'),
    errors: byLabel(m.chat_gateway_errors_total, 'code'),
    framesIn: byLabel(m.chat_gateway_frames_in_total, 'kind'),
    connections: byLabel(m.chat_gateway_connections_total, 'result'),
    queue: m.chat_queue_jobs ? byLabel(m.chat_queue_jobs, 'state') : null,
    queueDepthByShard: m.chat_queue_depth ? byLabel(m.chat_queue_depth, 'shard') : null,
    ttft: histogram(m.chat_gateway_turn_ttft_seconds),
    answer: histogram(m.chat_gateway_turn_response_seconds),
    lag: histogram(m.chat_gateway_delivery_lag_seconds),
    // The cache lives in the workers; the gateway sees each completed turn's metadata.from_cache.
    // Hits are turns answered from the cache, out of all completed turns (what customers see).
    cacheHits: m.chat_gateway_turns_from_cache_total ? total(m.chat_gateway_turns_from_cache_total) : null,
  };
}

function values(metric) {
  return Array.isArray(metric?.values) ? metric.values : [];
}

function total(metric) {
  return values(metric).reduce((sum, v) => sum + (Number(v.value) || 0), 0);
}

function byLabel(metric, label) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const v of values(metric)) {
    const key = String(v.labels?.[label] ?? '');
    out[key] = (out[key] ?? 0) + (Number(v.value) || 0);
  }
  return out;
}

/** @returns {Histogram | null} */
function histogram(metric) {
  const buckets = new Map();
  let count = 0;
  let sum = 0;
  for (const v of values(metric)) {
    const name = String(v.metricName ?? '');
    if (name.endsWith('_bucket')) {
      const le = v.labels?.le === '+Inf' ? Infinity : Number(v.labels?.le);
      buckets.set(le, (buckets.get(le) ?? 0) + (Number(v.value) || 0));
    } else if (name.endsWith('_count')) count += Number(v.value) || 0;
    else if (name.endsWith('_sum')) sum += Number(v.value) || 0;
  }
  if (buckets.size === 0) return null;
  const les = [...buckets.keys()].sort((a, b) => a - b);
  return { les, counts: les.map((le) => buckets.get(le)), count, sum };
}

// ---------------------------------------------------------------------------------- arithmetic

/** The latest snapshot of a gateway and the oldest one within the window before it. */
function windowOf(snapshots) {
  const latest = snapshots[snapshots.length - 1];
  const base = snapshots.find((s) => s !== latest && s.at >= latest.at - WINDOW_MS) ?? (snapshots.length > 1 ? snapshots[snapshots.length - 2] : null);
  return base ? { latest, base, seconds: Math.max(0.001, (latest.at - base.at) / 1000) } : null;
}

function liveGateways(now) {
  return [...state.gateways.entries()].filter(([, s]) => now - s[s.length - 1].at <= LIVE_MS);
}

/** Per-second rate of `pick(snapshot)` summed over live gateways; null before two snapshots. */
function rate(now, pick) {
  let sum = 0;
  let any = false;
  for (const [, snapshots] of liveGateways(now)) {
    const w = windowOf(snapshots);
    if (!w) continue;
    any = true;
    sum += increase(pick(w.base), pick(w.latest)) / w.seconds;
  }
  return any ? sum : null;
}

/** A counter's increase between two readings; a restarted gateway counts again from zero. */
function increase(before, after) {
  return after >= before ? after - before : after;
}

/**
 * The time the rates actually cover: the longest span between the two readings used, over the
 * live gateways ("12 s" after the first readings, "1 min" once the window is full).
 */
function observedSpan(now) {
  let seconds = 0;
  for (const [, snapshots] of liveGateways(now)) {
    const w = windowOf(snapshots);
    if (w) seconds = Math.max(seconds, w.seconds);
  }
  return seconds >= 59.5 ? '1 min' : `${Math.max(1, Math.round(seconds))} s`;
}

function sumOf(record) {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

/** Bucket counts observed within the window, merged over live gateways (or all time). */
function mergedHistogram(now, pick, windowed) {
  /** @type {Histogram | null} */
  let merged = null;
  for (const [, snapshots] of liveGateways(now)) {
    const latest = snapshots[snapshots.length - 1];
    const h = pick(latest);
    if (!h) continue;
    let counts = h.counts;
    if (windowed) {
      const w = windowOf(snapshots);
      const b = w ? pick(w.base) : null;
      if (!w || !b || b.counts.length !== counts.length) continue;
      const reset = counts[counts.length - 1] < b.counts[b.counts.length - 1];
      counts = reset ? counts : counts.map((c, i) => Math.max(0, c - b.counts[i]));
    }
    if (!merged) merged = { les: h.les, counts: [...counts], count: 0, sum: 0 };
    else if (merged.counts.length === counts.length) merged.counts = merged.counts.map((c, i) => c + counts[i]);
  }
  return merged;
}

/** Prometheus' histogram_quantile: linear within the bucket the rank falls in. */
function quantile(q, h) {
  if (!h) return null;
  const totalCount = h.counts[h.counts.length - 1];
  if (!totalCount) return null;
  const rank = q * totalCount;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] < rank) continue;
    const lower = i === 0 ? 0 : h.les[i - 1];
    const upper = h.les[i];
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : h.counts[i - 1];
    const inBucket = h.counts[i] - below;
    return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
  }
  return null;
}

// ---------------------------------------------------------------------------------- figures

function render() {
  const now = Date.now();
  const live = liveGateways(now);
  const latest = live.map(([, s]) => s[s.length - 1]);
  const newest = state.gateways.get(state.lastGateway ?? '')?.at(-1) ?? null;

  const sockets = latest.reduce((a, s) => a + s.sockets, 0);
  const sessions = latest.reduce((a, s) => a + s.sessions, 0);
  const subscriptions = latest.reduce((a, s) => a + s.subscriptions, 0);
  figure('sockets', [[format(sockets)]], `on ${live.length} gateway${live.length === 1 ? '' : 's'}`);
  figure('sessions', [[format(sessions)]], `${format(subscriptions)} channel subscription${subscriptions === 1 ? '' : 's'}`);
  record('sockets', now, [sockets]);
  record('sessions', now, [sessions]);

  const completed = rate(now, (s) => s.turns.complete ?? 0);
  const ended = rate(now, (s) => sumOf(s.turns));
  const failed = completed === null || ended === null ? null : Math.max(0, ended - completed);
  figure('turns', [[ended === null ? '–' : format(ended, 2)]], ended === null ? 'needs two readings' : ended > 0 ? `over ${observedSpan(now)} · ${percent(completed / ended)} complete · ${format(failed * 60, 1)} failed/min` : `no turns in the last ${observedSpan(now)}`);
  record('turns', now, [completed, failed]);

  const queue = newest?.queue ?? null;
  if (queue) {
    // With several queue shards (QUEUE_SHARDS), each shard's backlog too: a hot shard shows.
    const shards = Object.entries(newest?.queueDepthByShard ?? {}).sort(([a], [b]) => Number(a) - Number(b));
    const perShard = shards.length > 1 ? ` · by shard ${shards.map(([shard, depth]) => `${shard}: ${format(depth)}`).join(', ')}` : '';
    figure('queue', [[format(queue.waiting ?? 0), 'waiting'], [format(queue.active ?? 0), 'busy']], `delayed ${format(queue.delayed ?? 0)} · prioritized ${format(queue.prioritized ?? 0)} · failed ${format(queue.failed ?? 0)}${perShard}`);
    record('queue', now, [queue.waiting ?? 0, queue.active ?? 0]);
  } else {
    figure('queue', null, 'queue depth not exposed');
    record('queue', now, [null, null]);
  }

  latencyFigure('ttft', now, (s) => s.ttft, 'ms');
  latencyFigure('answer', now, (s) => s.answer, 's');

  const hits = latest.some((s) => s.cacheHits !== null) ? rate(now, (s) => s.cacheHits ?? 0) : null;
  if (hits === null || completed === null) {
    figure('cache', [['n/a']], hits === null ? 'not measured by this gateway' : 'needs two readings');
    record('cache', now, [null]);
  } else {
    // Over the turns completed in the window: hit rate = answered from cache / answered.
    const ratio = completed > 0 ? Math.min(1, hits / completed) : null;
    figure('cache', [[ratio === null ? '–' : (ratio * 100).toFixed(0), '%']], completed > 0 ? `of ${format(completed * 60, 1)} answers per min · over ${observedSpan(now)}` : `no answers in the last ${observedSpan(now)}`);
    record('cache', now, [ratio === null ? null : ratio * 100]);
  }

  const frames = rate(now, (s) => s.framesIn.rate_limited ?? 0);
  const requests = rate(now, (s) => s.errors.rate_limited ?? 0);
  const connects = rate(now, (s) => s.connections.rate_limited ?? 0);
  const refusals = frames === null ? null : (frames + (requests ?? 0) + (connects ?? 0)) * 60;
  const totalRefusals = latest.reduce((a, s) => a + (s.framesIn.rate_limited ?? 0) + (s.errors.rate_limited ?? 0) + (s.connections.rate_limited ?? 0), 0);
  figure('limits', [[refusals === null ? '–' : format(refusals, 1)]], `frames ${format((frames ?? 0) * 60, 1)} · turns ${format((requests ?? 0) * 60, 1)} · connects ${format((connects ?? 0) * 60, 1)} · ${format(totalRefusals)} in all`);
  record('limits', now, [refusals]);

  renderErrors(now, latest);
  renderGateways(now);

  draw('sockets', ['sockets'], (v) => format(v));
  draw('sessions', ['sessions'], (v) => format(v));
  draw('turns', ['complete /s', 'failed /s'], (v) => format(v, 2));
  draw('queue', ['waiting', 'busy'], (v) => format(v));
  draw('ttft', ['p50', 'p95'], (v) => duration(v, 'ms'));
  draw('answer', ['p50', 'p95'], (v) => duration(v, 's'));
  draw('cache', ['hit %'], (v) => `${v.toFixed(0)}%`, 'shown once the gateway exposes cache metrics');
  draw('limits', ['per min'], (v) => format(v, 1));
  draw('errors', ['errors per min'], (v) => format(v, 1));
}

/** p50 / p95 over the last minute; the all-time figures when the minute saw none. */
function latencyFigure(name, now, pick, unit) {
  const windowed = mergedHistogram(now, pick, true);
  const p50 = quantile(0.5, windowed);
  const p95 = quantile(0.95, windowed);
  if (p50 !== null && p95 !== null) {
    const count = windowed ? windowed.counts[windowed.counts.length - 1] : 0;
    figure(name, twoDurations(p50, p95, unit), `last ${observedSpan(now)} · ${format(count)} turn${count === 1 ? '' : 's'}`);
    record(name, now, [p50, p95]);
    return;
  }
  const allTime = mergedHistogram(now, pick, false);
  const a50 = quantile(0.5, allTime);
  const a95 = quantile(0.95, allTime);
  if (a50 !== null && a95 !== null) figure(name, twoDurations(a50, a95, unit), `since start · none in the last ${observedSpan(now)}`);
  else figure(name, null, 'no turns yet');
  record(name, now, [null, null]);
}

function twoDurations(a, b, preferred) {
  const unit = preferred === 's' || b >= 1 ? 's' : 'ms';
  const show = (v) => (unit === 's' ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : Math.round(v * 1000).toString());
  return [[show(a)], [show(b), unit]];
}

function renderErrors(now, latest) {
  /** @type {Map<string, {total: number, perMin: number}>} */
  const codes = new Map();
  for (const s of latest) for (const [code, n] of Object.entries(s.errors)) codes.set(code, { total: (codes.get(code)?.total ?? 0) + n, perMin: 0 });
  for (const code of codes.keys()) codes.get(code).perMin = (rate(now, (s) => s.errors[code] ?? 0) ?? 0) * 60;
  const perMin = [...codes.values()].reduce((a, c) => a + c.perMin, 0);
  record('errors', now, [liveGateways(now).some(([, s]) => windowOf(s)) ? perMin : null]);

  const tbody = /** @type {HTMLElement} */ (document.querySelector('#errors-table tbody'));
  const rows = [...codes.entries()].filter(([, c]) => c.total > 0).sort((a, b) => b[1].total - a[1].total);
  if (rows.length === 0) {
    tbody.replaceChildren(emptyRow(3, 'No errors returned since start'));
    return;
  }
  tbody.replaceChildren(
    ...rows.map(([code, c]) => {
      const tr = document.createElement('tr');
      tr.append(cell(code, 'code'), cell(format(c.perMin, 1), 'num'), cell(format(c.total), 'num'));
      return tr;
    }),
  );
}

function renderGateways(now) {
  const tbody = /** @type {HTMLElement} */ (document.querySelector('#gateways-table tbody'));
  const rows = [...state.gateways.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  if (rows.length === 0) {
    tbody.replaceChildren(emptyRow(5, 'No gateway read yet'));
    return;
  }
  tbody.replaceChildren(
    ...rows.map(([id, snapshots]) => {
      const s = snapshots[snapshots.length - 1];
      const w = windowOf(snapshots);
      let lag = null;
      if (w && s.lag && w.base.lag && s.lag.counts.length === w.base.lag.counts.length) {
        lag = quantile(0.95, { ...s.lag, counts: s.lag.counts.map((c, i) => Math.max(0, c - w.base.lag.counts[i])) });
      }
      const tr = document.createElement('tr');
      if (now - s.at > LIVE_MS) tr.className = 'stale';
      const name = cell(id, 'code');
      if (id === state.lastGateway) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'last read';
        name.append(badge);
      }
      tr.append(name, cell(format(s.sockets), 'num'), cell(format(s.sessions), 'num'), cell(lag === null ? '–' : duration(lag, 'ms'), 'num'), cell(ago(now - s.at), 'num'));
      return tr;
    }),
  );
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function emptyRow(columns, text) {
  const tr = document.createElement('tr');
  const td = cell(text, 'empty');
  td.colSpan = columns;
  tr.append(td);
  return tr;
}

/**
 * Sets a tile's big figure from parts `[text, unit?]` (joined by a thin separator), or a dash
 * when there is nothing to show, and its sub-line.
 */
function figure(name, parts, sub) {
  const value = /** @type {HTMLElement} */ (document.querySelector(`[data-figure="${name}"]`));
  const subEl = /** @type {HTMLElement} */ (document.querySelector(`[data-sub="${name}"]`));
  const nodes = [];
  (parts ?? [['–']]).forEach(([text, unit], i) => {
    if (i > 0) nodes.push(span('sep', '/'));
    nodes.push(document.createTextNode(text));
    if (unit) nodes.push(span('unit', unit));
  });
  value.replaceChildren(...nodes);
  value.dataset.empty = String(parts === null || parts[0][0] === '–' || parts[0][0] === 'n/a');
  subEl.textContent = sub;
}

function span(className, text) {
  const el = document.createElement('span');
  el.className = className;
  el.textContent = text;
  return el;
}

// ---------------------------------------------------------------------------------- charts

function record(name, t, v) {
  const points = (state.series[name] ??= []);
  // No reading for a while (the tab was hidden, or /stats failed): a gap, not a joining line.
  const last = points[points.length - 1];
  if (last && last.v.length > 0 && t - last.t > 3 * POLL_MS) points.push({ t: last.t + POLL_MS, v: [] });
  points.push({ t, v });
  while (points.length > 0 && points[0].t < t - SPAN_MS) points.shift();
}

/**
 * A small line chart, drawn as SVG at the container's pixel size: one line per series (gaps
 * where a value is missing), the first one over a faint area, a zero line and a top line
 * labelled with the chart's maximum. The time axis is the last SPAN_MS, now at the right.
 */
function draw(name, labels, formatValue, emptyText = 'waiting for data') {
  const box = /** @type {HTMLElement | null} */ (document.querySelector(`[data-chart="${name}"]`));
  if (!box) return;
  const points = state.series[name] ?? [];
  const width = Math.max(120, Math.round(box.clientWidth));
  const height = Math.max(40, parseFloat(getComputedStyle(box).getPropertyValue('--chart-height')) || 64);
  const top = 12;
  const bottom = height - 2;
  const finite = points.flatMap((p) => p.v).filter((v) => typeof v === 'number' && Number.isFinite(v));
  const nodes = [];
  if (finite.length === 0) {
    const empty = document.createElement('div');
    empty.className = 'chart-empty';
    empty.textContent = emptyText;
    nodes.push(empty);
    box.replaceChildren(...nodes);
    return;
  }
  const max = niceMax(Math.max(...finite));
  const now = points[points.length - 1].t;
  const spanMs = Math.min(SPAN_MS, Math.max(MIN_SPAN_MS, now - points[0].t));
  const x = (t) => ((t - (now - spanMs)) / spanMs) * width;
  const y = (v) => bottom - (v / max) * (bottom - top);

  const minutes = Math.round(spanMs / 60_000);
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${labels.join(' and ')} over the last ${minutes} min, up to ${formatValue(max)}` });
  svg.append(svgEl('line', { class: 'grid', x1: 0, x2: width, y1: y(0), y2: y(0) }));
  svg.append(svgEl('line', { class: 'grid', x1: 0, x2: width, y1: y(max), y2: y(max) }));
  const label = svgEl('text', { class: 'max-label', x: 0, y: top - 3 });
  label.textContent = formatValue(max);
  const spanLabel = svgEl('text', { class: 'max-label', x: width, y: top - 3, 'text-anchor': 'end' });
  spanLabel.textContent = `${minutes} min`;
  svg.append(label, spanLabel);

  labels.forEach((_, k) => {
    const runs = [];
    let run = [];
    for (const p of points) {
      const v = p.v[k];
      if (typeof v === 'number' && Number.isFinite(v)) run.push([x(p.t), y(v)]);
      else if (run.length > 0) {
        runs.push(run);
        run = [];
      }
    }
    if (run.length > 0) runs.push(run);
    for (const r of runs) {
      const line = r.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${px.toFixed(1)},${py.toFixed(1)}`).join('');
      if (k === 0 && r.length > 1) {
        const area = `${line}L${r[r.length - 1][0].toFixed(1)},${bottom}L${r[0][0].toFixed(1)},${bottom}Z`;
        svg.append(svgEl('path', { class: `area series-${k}`, d: area }));
      }
      // A lone point still shows: a dot.
      if (r.length === 1) svg.append(svgEl('circle', { class: `series-${k}`, cx: r[0][0], cy: r[0][1], r: 2.5 }));
      else svg.append(svgEl('path', { class: `line series-${k}`, d: line }));
    }
  });
  nodes.push(svg);
  if (labels.length > 1) {
    const legend = document.createElement('ul');
    legend.className = 'legend';
    legend.setAttribute('aria-hidden', 'true');
    labels.forEach((text, k) => {
      const li = document.createElement('li');
      const swatch = span(`swatch series-${k}`, '');
      li.append(swatch, document.createTextNode(text));
      legend.append(li);
    });
    nodes.push(legend);
  }
  box.replaceChildren(...nodes);
}

function svgEl(tag, attributes) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  return el;
}

/** 1, 2 or 5 times a power of ten, at least `value` (and at least 1 for counts). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// ---------------------------------------------------------------------------------- formatting

/** A count or rate for people: "0", "0.25", "12", "14.2k" (no trailing zeros). */
function format(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 10_000) return `${Number((value / 1000).toFixed(1))}k`;
  return String(Number(value.toFixed(Math.abs(value) < 10 ? digits : 0)));
}

function percent(ratio) {
  return ratio === null || !Number.isFinite(ratio) ? '–' : `${(ratio * 100).toFixed(ratio >= 0.995 || ratio === 0 ? 0 : 1)}%`;
}

/** Seconds → "85 ms" or "1.9 s". */
function duration(secondsValue, preferred) {
  if (preferred === 's' && secondsValue >= 1) return `${secondsValue.toFixed(1)} s`;
  return secondsValue < 1 ? `${Math.round(secondsValue * 1000)} ms` : `${secondsValue.toFixed(1)} s`;
}

function ago(ms) {
  const s = Math.round(ms / 1000);
  return s < 2 ? 'now' : s < 90 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

void poll();
