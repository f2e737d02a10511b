// main.js — haven's web dashboard: login, the map and its layers, the live
// alert stream, incidents, charts, the timeline and the deconfliction form.
//
// Invariants: every piece of data comes from the API with the logged-in
// token (need-to-know is the server's); the token lives in memory only and
// logout() drops it with every layer, list and chart; the page fetches
// nothing but its own files and the API on the same origin.
import L from 'leaflet';
import { feature as topoFeature } from 'topojson-client';
import { Api, ApiError } from './api.js';
import { stackedBars, statusGrid } from './charts.js';
import { STATUS, NO_STATUS, kindStyle, KIND, CORRIDOR, SITE, CLASS, CLASS_ORDER, partyColor } from './colors.js';

const START = '2015-07-01';
const DAY_MS = 86400000;
const REPLAY_ENTRIES = 5000;
const TRACKS_NOTE = 'Tracks: real ADS-B tracks (OpenSky, Switzerland 2018-08-01) relocated over northern Syria for the demo';

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const dayIndex = (d) => Math.round((Date.parse(d + 'T00:00:00Z') - Date.parse(START + 'T00:00:00Z')) / DAY_MS);
const dayOf = (i) => new Date(Date.parse(START + 'T00:00:00Z') + i * DAY_MS).toISOString().slice(0, 10);
const todayUtc = () => new Date().toISOString().slice(0, 10);
const addDays = (d, n) => dayOf(dayIndex(d) + n);
const endOfDay = (d) => `${d}T23:59:59Z`;

// ---------------------------------------------------------------- the page

document.getElementById('app').innerHTML = `
<header class="top">
  <h1>haven <span class="sub">ceasefire deconfliction</span></h1>
  <div id="who" class="who"></div>
  <button id="logout" type="button" hidden>Log out</button>
</header>
<main class="main">
  <div id="map" aria-label="map"></div>
  <aside class="panel">
    <nav class="tabs" role="tablist">
      <button data-tab="layers" class="active">Map</button>
      <button data-tab="alerts">Alerts <span id="alert-count" class="badge">0</span></button>
      <button data-tab="incidents">Incidents</button>
      <button data-tab="charts">Charts</button>
      <button data-tab="check">Check</button>
    </nav>
    <section id="tab-layers" class="tab active">
      <h2>Layers</h2>
      <ul class="layers">
        <li><label><input type="checkbox" data-layer="zones" checked> Zones</label></li>
        <li><label><input type="checkbox" data-layer="corridors" checked> Corridors</label></li>
        <li><label><input type="checkbox" data-layer="sites" checked> Protected sites</label> <span id="sites-note" class="muted"></span></li>
        <li><label><input type="checkbox" data-layer="movements" checked> Movements</label></li>
        <li><label><input type="checkbox" data-layer="tracks" checked> Live tracks</label></li>
        <li><label><input type="checkbox" data-layer="alerts" checked> Alerts</label></li>
        <li><label><input type="checkbox" data-layer="incidents" checked> Incidents</label></li>
        <li><label><input type="checkbox" data-layer="areas"> Provinces</label></li>
        <li><label><input type="checkbox" data-layer="delineations"> Delineations</label></li>
      </ul>
      <h2>Zones <span class="muted" id="zones-at"></span></h2>
      <ul id="zone-list" class="items"></ul>
      <h2>Corridors</h2>
      <ul id="corridor-list" class="items"></ul>
      <h2>Live tracks</h2>
      <p class="note">${esc(TRACKS_NOTE)}.</p>
      <ul id="track-list" class="items"></ul>
    </section>
    <section id="tab-alerts" class="tab">
      <h2>Findings and alerts</h2>
      <p class="muted" id="stream-state">not connected</p>
      <ol id="alert-list" class="items alerts"></ol>
    </section>
    <section id="tab-incidents" class="tab">
      <h2>Incidents</h2>
      <form id="incident-filter" class="form">
        <label>Days up to the timeline date <select name="days">
          <option>7</option><option selected>30</option><option>90</option><option>365</option></select></label>
        <label>Classification <select name="class"><option value="">any</option>
          ${CLASS_ORDER.map((c) => `<option>${c}</option>`).join('')}</select></label>
        <label>Party <select name="party"><option value="">any</option></select></label>
        <label>Show as <select name="mode"><option value="points">points</option><option value="density">density</option></select></label>
      </form>
      <p id="incident-summary" class="muted"></p>
    </section>
    <section id="tab-charts" class="tab">
      <p class="muted">The <span id="chart-days">30</span> days up to the timeline date (Incidents tab sets the period).</p>
      <div id="charts"></div>
    </section>
    <section id="tab-check" class="tab">
      <h2>Deconfliction check</h2>
      <p class="muted">Click the map to place the operation.</p>
      <form id="check-form" class="form">
        <label>Point <input name="point" readonly placeholder="click the map" required></label>
        <label>Kind <select name="kind">
          <option>air_strike</option><option>artillery</option><option>ground_move</option><option>flight</option></select></label>
        <label>Effect radius (m) <input name="radius" type="number" min="0" max="100000" value="1000" required></label>
        <label>From (UTC) <input name="from" type="datetime-local" required></label>
        <label>To (UTC) <input name="to" type="datetime-local" required></label>
        <label>Target party (optional) <input name="target" placeholder="e.g. fsa"></label>
        <button type="submit">Check</button>
      </form>
      <div id="check-result"></div>
    </section>
  </aside>
</main>
<footer class="timeline">
  <label for="tl-range">Date</label>
  <button type="button" id="tl-prev" title="one week back">&laquo;</button>
  <input id="tl-range" type="range" min="0" step="1">
  <button type="button" id="tl-next" title="one week on">&raquo;</button>
  <input id="tl-date" type="date">
  <button type="button" id="tl-today">Today</button>
</footer>
<div id="login" class="overlay">
  <form id="login-form" class="login">
    <h2>haven</h2>
    <p>Log in with your haven token (<code>hv1.…</code>). You will see what your party may see.</p>
    <input id="token" name="token" type="password" autocomplete="off" placeholder="hv1.id.secret" required>
    <button type="submit">Log in</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
</div>`;

const appEl = document.getElementById('app');
const api = new Api((n) => { appEl.dataset.pending = String(n); });
appEl.dataset.pending = '0';

// ---------------------------------------------------------------- the map

const map = L.map('map', { zoomControl: true, preferCanvas: false, attributionControl: true, minZoom: 4, maxZoom: 13, worldCopyJump: false })
  .setView([35.0, 38.5], 7);
map.attributionControl.setPrefix(false);
map.attributionControl.addAttribution('Borders: Natural Earth (world-atlas)');
L.control.scale({ imperial: false, maxWidth: 160, position: 'bottomleft' }).addTo(map);
for (const [name, z] of [['base', 200], ['areas', 250], ['zonesPane', 400], ['incidentsPane', 450], ['linesPane', 460], ['sitesPane', 470], ['alertsPane', 480], ['tracksPane', 620], ['labels', 640]]) {
  map.createPane(name).style.zIndex = z;
}
map.getPane('labels').style.pointerEvents = 'none';
map.getContainer().style.background = '#cfe3f0'; // sea

const layers = {
  base: L.layerGroup().addTo(map),
  areas: L.layerGroup(),
  delineations: L.layerGroup(),
  zones: L.layerGroup().addTo(map),
  corridors: L.layerGroup().addTo(map),
  sites: L.layerGroup().addTo(map),
  movements: L.layerGroup().addTo(map),
  incidents: L.layerGroup().addTo(map),
  alerts: L.layerGroup().addTo(map),
  tracks: L.layerGroup().addTo(map),
  labels: L.layerGroup().addTo(map),
  check: L.layerGroup().addTo(map),
};

// Natural Earth borders, bundled (countries.json from world-atlas).
fetch('/ui/countries.json').then((r) => r.json()).then((topo) => {
  // Only the countries around Syria: drawing the whole world at zoom 10
  // costs seconds on a laptop without a GPU.
  const fc = topoFeature(topo, topo.objects.countries);
  fc.features = fc.features.filter((f) => f.geometry && near(f.geometry));
  L.geoJSON(fc, {
    pane: 'base', interactive: false, renderer: L.canvas({ pane: 'base', padding: 0.2 }), smoothFactor: 2,
    style: (f) => ({ color: '#8d8d8d', weight: f.properties.name === 'Syria' ? 2 : 1, fillColor: f.properties.name === 'Syria' ? '#fbfaf5' : '#eceae2', fillOpacity: 1 }),
  }).addTo(layers.base);
  // Country names at fixed points inside each country near Syria.
  const names = [['Syria', 35.0, 38.9], ['Turkey', 37.9, 35.3], ['Iraq', 34.0, 42.6], ['Jordan', 31.3, 36.9], ['Lebanon', 34.0, 35.75], ['Israel', 31.0, 34.85], ['Cyprus', 35.05, 33.2], ['Saudi Arabia', 30.3, 40.5], ['Iran', 35.5, 47.5], ['Egypt', 29.8, 31.5]];
  for (const [n, lat, lon] of names) label(layers.base, [lat, lon], n, 'country', 1);
  declutter();
}).catch(() => {});

// Does a geometry have a vertex in the region around Syria?
function near(g) {
  const inBox = ([x, y]) => x > 20 && x < 62 && y > 18 && y < 48;
  const walk = (c) => (typeof c[0] === 'number' ? inBox(c) : c.some(walk));
  return walk(g.coordinates);
}

function label(group, latlng, text, cls, prio = 5, sub = '') {
  const m = L.marker(latlng, {
    pane: 'labels', interactive: false, keyboard: false,
    icon: L.divIcon({ className: `hv-label hv-label-${cls}`, html: `<span data-prio="${prio}">${esc(text)}${sub ? `<small>${esc(sub)}</small>` : ''}</span>`, iconSize: null }),
  });
  group.addLayer(m);
  return m;
}

// Hide labels that would overlap a more important one (lower prio first).
function declutter() {
  const els = [...document.querySelectorAll('.hv-label span')];
  els.sort((a, b) => Number(a.dataset.prio) - Number(b.dataset.prio));
  const kept = [];
  for (const e of els) {
    e.style.visibility = 'visible';
    const r = e.getBoundingClientRect();
    if (!r.width) continue;
    const hit = kept.some((k) => !(r.right + 2 < k.left || r.left - 2 > k.right || r.bottom + 1 < k.top || r.top - 1 > k.bottom));
    if (hit) e.style.visibility = 'hidden';
    else kept.push(r);
  }
}
map.on('zoomend moveend', () => requestAnimationFrame(declutter));

// Legend on the map, so it is on the projector too.
const legendCtl = L.control({ position: 'bottomright' });
legendCtl.onAdd = () => {
  const d = L.DomUtil.create('div', 'legend');
  d.innerHTML = `<button type="button" class="legend-toggle" aria-expanded="true">Legend ▾</button><div class="legend-body">
    <b>Zone status</b> (fill)
    ${Object.entries(STATUS).map(([k, c]) => `<div><span class="swatch" style="background:${c}"></span>${k}</div>`).join('')}
    <div><span class="swatch" style="background:${NO_STATUS}"></span>no status</div>
    <b>Zone kind</b> (outline)
    ${Object.entries(KIND).map(([, s]) => `<div><svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="${s.color}" stroke-width="3" ${s.dash ? `stroke-dasharray="${s.dash.split(' ').map((n) => n / 2).join(' ')}"` : ''}/></svg>${s.label}</div>`).join('')}
    <b>Corridors</b>
    <div><svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="${CORRIDOR.open}" stroke-width="4"/></svg>open</div>
    <div><svg width="26" height="10"><line x1="1" y1="5" x2="25" y2="5" stroke="${CORRIDOR.closed}" stroke-width="4" stroke-dasharray="4 3"/></svg>closed / blocked</div>
    <b>Points</b>
    <div><span class="dot" style="border-color:${SITE}"></span>protected site</div>
    <div><span class="dot" style="background:${CLASS.violation};border-color:${CLASS.violation}"></span>incident: violation</div>
    <div><span class="dot" style="background:${CLASS.uncertain};border-color:${CLASS.uncertain}"></span>incident: uncertain</div>
    <div><span class="dot" style="background:${CLASS.excluded};border-color:${CLASS.excluded}"></span>incident: other</div>
    <div><span class="ring"></span>alert</div>
    <div><svg width="14" height="14" viewBox="-7 -7 14 14"><path d="M0,-6 L4.5,5 L0,2.5 L-4.5,5 Z" fill="#555"/></svg> aircraft (party colour, heading)</div>
    </div><div class="note">${esc(TRACKS_NOTE)}</div>`;
  const tg = d.querySelector('.legend-toggle');
  tg.addEventListener('click', () => {
    const open = d.classList.toggle('collapsed');
    tg.setAttribute('aria-expanded', String(!open));
    tg.textContent = open ? 'Legend ▸' : 'Legend ▾';
  });
  // Folded at first on a small map (a projector at 1024x768), where it would
  // hide half of Syria.
  if (map.getSize().x < 900) tg.click();
  L.DomEvent.disableClickPropagation(d);
  L.DomEvent.disableScrollPropagation(d);
  return d;
};
legendCtl.addTo(map);

// Layer toggles.
for (const cb of document.querySelectorAll('input[data-layer]')) {
  cb.addEventListener('change', () => {
    const g = layers[cb.dataset.layer];
    if (cb.checked) g.addTo(map); else map.removeLayer(g);
    requestAnimationFrame(declutter);
  });
}

// Tabs.
let activeTab = 'layers';
for (const b of document.querySelectorAll('.tabs button')) {
  b.addEventListener('click', () => showTab(b.dataset.tab));
}
function showTab(name) {
  activeTab = name;
  for (const b of document.querySelectorAll('.tabs button')) b.classList.toggle('active', b.dataset.tab === name);
  for (const s of document.querySelectorAll('.tab')) s.classList.toggle('active', s.id === 'tab-' + name);
  map.getContainer().classList.toggle('picking', name === 'check');
  if (name === 'charts') loadCharts();
}

// ---------------------------------------------------------------- state

const state = {
  who: null,          // {party, role} from the stream's open event
  date: null,         // timeline day, YYYY-MM-DD
  streamAbort: null,
  lastSeq: null,
  alerts: [],
  zones: [],
  status: new Map(),
  checkPoint: null,
  tracksTimer: null,
  parties: [],
};

// ---------------------------------------------------------------- timeline

const range = $('#tl-range');
const dateIn = $('#tl-date');
range.max = String(dayIndex(todayUtc()));
dateIn.min = START;
dateIn.max = todayUtc();

function initialDate() {
  // `#at=YYYY-MM-DD` (haven serve refuses query parameters on `/`).
  const q = new URLSearchParams(location.hash.slice(1)).get('at');
  if (q && /^\d{4}-\d{2}-\d{2}/.test(q)) {
    const d = q.slice(0, 10);
    if (d >= START && d <= todayUtc()) return d;
  }
  return todayUtc();
}

let timeTimer = null;
function setDate(d, { now = false } = {}) {
  if (d < START) d = START;
  if (d > todayUtc()) d = todayUtc();
  state.date = d;
  range.value = String(dayIndex(d));
  dateIn.value = d;
  appEl.dataset.date = d;
  history.replaceState(null, '', `#at=${d}`);
  clearTimeout(timeTimer);
  if (!state.who) return;
  const go = () => loadTimeLayers();
  if (now) go(); else timeTimer = setTimeout(go, 200);
}
range.addEventListener('input', () => setDate(dayOf(Number(range.value))));
dateIn.addEventListener('change', () => dateIn.value && setDate(dateIn.value, { now: true }));
$('#tl-prev').addEventListener('click', () => setDate(addDays(state.date, -7), { now: true }));
$('#tl-next').addEventListener('click', () => setDate(addDays(state.date, 7), { now: true }));
$('#tl-today').addEventListener('click', () => setDate(todayUtc(), { now: true }));

// ---------------------------------------------------------------- login

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('#token').value.trim();
  const button = $('#login-form button[type=submit]');
  if (button.disabled) return; // a login is under way
  $('#login-error').textContent = '';
  button.disabled = true;
  try {
    await login(token);
  } catch (err) {
    logout();
    $('#login-error').textContent = err.status === 401 ? 'This token is not valid (unknown or revoked).' : `Could not log in: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});
$('#logout').addEventListener('click', () => logout());

// Who am I: the alert stream's first event, `open`, names the token's party
// and role. Logging in opens the stream and waits for it.
async function login(token) {
  api.setToken(token);
  // Replay the findings of the last REPLAY_ENTRIES ledger entries (those this
  // token may see), then go on live.
  try {
    const h = await (await fetch('/healthz', { cache: 'no-store' })).json();
    state.lastSeq = Math.max(0, (h.ledger_head || 0) - REPLAY_ENTRIES);
  } catch { state.lastSeq = null; }
  const who = await openStream();
  state.who = who;
  $('#token').value = '';
  $('#login').hidden = true;
  $('#logout').hidden = false;
  $('#who').innerHTML = `<span class="party-chip" style="background:${partyColor(who.party)}"></span>${esc(who.party)} <span class="muted">(${esc(who.role)})</span>`;
  appEl.dataset.party = who.party;
  appEl.dataset.role = who.role;
  loadParties();
  loadTimeLayers();
  loadTracks();
  clearInterval(state.tracksTimer);
  state.tracksTimer = setInterval(loadTracks, 3000);
}

// Drops the token and everything shown with it.
function logout() {
  clearTimeout(timeTimer);
  if (state.streamAbort) state.streamAbort.abort();
  state.streamAbort = null;
  clearInterval(state.tracksTimer);
  api.setToken(null);
  Object.assign(state, { who: null, alerts: [], zones: [], status: new Map(), checkPoint: null, lastSeq: null, parties: [], tracksTimer: null });
  for (const k of ['areas', 'delineations', 'zones', 'corridors', 'sites', 'movements', 'incidents', 'alerts', 'tracks', 'labels', 'check']) layers[k].clearLayers();
  for (const id of ['zone-list', 'corridor-list', 'track-list', 'alert-list', 'charts', 'check-result']) $('#' + id).innerHTML = '';
  $('#incident-summary').textContent = '';
  $('#sites-note').textContent = '';
  $('#alert-count').textContent = '0';
  $('#stream-state').textContent = 'not connected';
  $('#check-form').reset();
  filterForm.reset();
  $('#who').textContent = '';
  $('#logout').hidden = true;
  $('#login').hidden = false;
  delete appEl.dataset.party;
  delete appEl.dataset.role;
  const sel = $('#incident-filter select[name=party]');
  sel.length = 1;
  showTab('layers');
  map.setView([35.0, 38.5], 7, { animate: false });
  $('#token').focus();
}

// ---------------------------------------------------------------- alerts

// Opens the stream; resolves with the open event's {party, role} or rejects.
// Reconnects with the last id after a drop, so nothing is missed.
function openStream() {
  return new Promise((resolve, reject) => {
    let opened = false;
    // One stream at a time: a newer one (a second login, a reconnect)
    // ends the older, and events of an ended one are dropped.
    if (state.streamAbort) state.streamAbort.abort();
    const ctl = new AbortController();
    state.streamAbort = ctl;
    const params = state.lastSeq != null ? { since: state.lastSeq } : {};
    api.stream(params, (ev) => {
      if (state.streamAbort !== ctl) return;
      if (ev.event === 'open') {
        opened = true;
        $('#stream-state').textContent = 'live: receiving findings as they are recorded';
        resolve(ev.data);
      } else if (ev.event === 'finding') {
        state.lastSeq = ev.id || ev.data.seq;
        addAlert(ev.data);
      } else if (ev.event === 'dropped' || ev.event === 'closed') {
        if (ev.data && ev.data.resume_after != null) state.lastSeq = ev.data.resume_after;
        $('#stream-state').textContent = `stream ${ev.event}: ${ev.data && ev.data.reason || ''}`;
      }
    }, ctl.signal).then(() => {
      if (!opened) reject(new Error('the stream ended before it opened'));
      else reconnectLater(ctl);
    }, (err) => {
      if (!opened) reject(err);
      else if (err.name !== 'AbortError') reconnectLater(ctl);
    });
  });
}

function reconnectLater(ctl) {
  if (ctl.signal.aborted || !state.who || state.streamAbort !== ctl) return;
  $('#stream-state').textContent = 'disconnected: reconnecting…';
  setTimeout(() => {
    if (!state.who || state.streamAbort !== ctl) return;
    openStream().catch((err) => {
      if (err.status === 401) { // revoked while logged in
        logout();
        $('#login-error').textContent = 'The server refused your token (revoked?): log in again.';
      } else if (state.who) reconnectLater(state.streamAbort);
    });
  }, 2000);
}

const FINDING_LABEL = {
  separation_conflict: 'Separation conflict', no_fly_violation: 'No-fly violation', forbidden_presence: 'Forbidden presence',
  site_proximity: 'Near a protected site', corridor_incursion: 'Corridor incursion', zone_enter: 'Zone entered', zone_exit: 'Zone left',
  out_of_order: 'Out-of-order report', implausible: 'Implausible report', probing: 'Probing suspected', siege_suspected: 'Siege suspected',
};
const SEVERE = new Set(['separation_conflict', 'no_fly_violation', 'forbidden_presence', 'site_proximity', 'corridor_incursion', 'probing', 'siege_suspected']);

function addAlert(f) {
  state.alerts.unshift(f);
  if (state.alerts.length > 300) state.alerts.length = 300;
  $('#alert-count').textContent = String(state.alerts.length);
  const li = document.createElement('li');
  li.dataset.seq = f.seq;
  li.dataset.kind = f.kind;
  li.className = SEVERE.has(f.kind) ? 'severe' : '';
  const where = typeof f.lon === 'number' ? `${f.lat.toFixed(3)}, ${f.lon.toFixed(3)}` : '';
  const who = [f.asset, f.party && `(${f.party})`, f.other_asset && `↔ ${f.other_asset}`, f.other_party && `(${f.other_party})`].filter(Boolean).join(' ');
  li.innerHTML = `<div class="a-head"><b>${esc(FINDING_LABEL[f.kind] || f.kind)}</b> <time>${esc((f.t || f.recorded_at || '').replace('T', ' ').slice(0, 19))}</time></div>
    <div>${esc(who)}</div><div class="muted">${esc(f.reason || '')}</div>${where ? `<div class="muted">${esc(where)} — click to show</div>` : ''}`;
  if (where) {
    const ring = L.circleMarker([f.lat, f.lon], { pane: 'alertsPane', radius: 11, color: SEVERE.has(f.kind) ? '#d50000' : '#ff6f00', weight: 3, fill: false, className: 'hv-alert' })
      .bindTooltip(`${esc(FINDING_LABEL[f.kind] || f.kind)}: ${esc(who)}`);
    layers.alerts.addLayer(ring);
    const rings = layers.alerts.getLayers();
    if (rings.length > 100) layers.alerts.removeLayer(rings[0]);
    const go = () => { map.flyTo([f.lat, f.lon], Math.max(map.getZoom(), 9), { duration: 0.8 }); ring.openTooltip(); };
    li.tabIndex = 0;
    li.addEventListener('click', go);
    li.addEventListener('keydown', (e) => e.key === 'Enter' && go());
  }
  const list = $('#alert-list');
  list.insertBefore(li, list.firstChild);
  while (list.children.length > 300) list.removeChild(list.lastChild);
  if (f.asset) tracksSoon();
}

// A replay raises findings by the hundred: refresh the tracks at most every 0.5 s.
let tracksTimer = null;
function tracksSoon() {
  if (tracksTimer) return;
  tracksTimer = setTimeout(() => { tracksTimer = null; loadTracks(); }, 500);
}

// ---------------------------------------------------------------- tracks

async function loadTracks() {
  if (!state.who) return;
  let items;
  try { items = (await api.get('/v1/tracks')).items; } catch { return; }
  layers.tracks.clearLayers();
  const ul = $('#track-list');
  ul.innerHTML = '';
  for (const t of items) {
    const c = partyColor(t.party);
    const icon = L.divIcon({
      className: 'hv-track',
      iconSize: [22, 22], iconAnchor: [11, 11],
      html: `<svg data-asset="${esc(t.asset)}" data-party="${esc(t.party)}" width="22" height="22" viewBox="-11 -11 22 22"><g transform="rotate(${Number(t.heading_deg) || 0})"><path d="M0,-10 L7,8 L0,4 L-7,8 Z" fill="${c}" stroke="#fff" stroke-width="1.5"/></g></svg>`,
    });
    const m = L.marker([t.lat, t.lon], { icon, pane: 'tracksPane', keyboard: false })
      .bindTooltip(`${esc(t.asset)} (${esc(t.party)}, ${esc(t.class)})<br>${Math.round(t.alt_m)} m, ${Math.round(t.speed_mps)} m/s, heading ${Math.round(t.heading_deg)}°<br>${esc(t.t)}`);
    layers.tracks.addLayer(m);
    label(layers.tracks, [t.lat, t.lon], t.asset, 'track', 2);
    const li = document.createElement('li');
    li.dataset.asset = t.asset;
    li.innerHTML = `<span class="party-chip" style="background:${c}"></span><b>${esc(t.asset)}</b> ${esc(t.party)} · ${Math.round(t.alt_m)} m · ${Math.round(t.heading_deg)}°`;
    li.addEventListener('click', () => map.flyTo([t.lat, t.lon], Math.max(map.getZoom(), 9)));
    ul.appendChild(li);
  }
  if (!items.length) ul.innerHTML = '<li class="muted">No live track you may see.</li>';
  requestAnimationFrame(declutter);
}

// ---------------------------------------------------------------- time layers

async function loadParties() {
  try {
    state.parties = await api.all('/v1/parties', {});
    const sel = $('#incident-filter select[name=party]');
    sel.length = 1;
    for (const p of state.parties.filter((p) => p.kind !== 'agency' && p.kind !== 'monitor').sort((a, b) => a.id.localeCompare(b.id))) {
      sel.add(new Option(`${p.id} — ${p.name}`, p.id));
    }
  } catch { /* the select stays at "any" */ }
}

function centerOf(layer) {
  // A label point inside the polygon's bounds: its centre, good enough for the
  // compact zones of a ceasefire map.
  return layer.getBounds().getCenter();
}

let timeSeq = 0;
async function loadTimeLayers() {
  if (!state.who) return;
  const my = ++timeSeq;
  const at = endOfDay(state.date);
  $('#zones-at').textContent = `at ${state.date} (loading…)`;
  try {
    const [zones, status, corridors, sites, movements, areas, dels] = await Promise.all([
      api.all('/v1/zones', { at }),
      api.get('/v1/zone-status', { at }).then((r) => r.items).catch(() => []),
      api.all('/v1/corridors', { at }),
      api.all('/v1/sites', { at }),
      api.all('/v1/movements', { at }),
      layers.areas.getLayers().length ? Promise.resolve(null) : api.all('/v1/areas', {}),
      api.all('/v1/delineations', { at }),
    ]);
    if (my !== timeSeq || !state.who) return;
    state.zones = zones;
    state.status = new Map(status.map((s) => [s.zone, s]));
    drawZones(zones);
    drawCorridors(corridors, at);
    drawSites(sites);
    drawMovements(movements);
    if (areas) drawAreas(areas);
    drawDelineations(dels);
    requestAnimationFrame(declutter);
    $('#zones-at').textContent = `at ${state.date}`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return logout();
    // Never leave another date's map under this date: say so, and clear it.
    if (my !== timeSeq || !state.who) return;
    for (const k of ['zones', 'corridors', 'sites', 'movements', 'labels']) layers[k].clearLayers();
    $('#zones-at').textContent = `at ${state.date}: could not load (${err.message}); move the date to retry`;
  }
  loadIncidents();
  if (activeTab === 'charts') loadCharts();
}

function drawZones(zones) {
  layers.zones.clearLayers();
  for (const m of layers.labels.getLayers()) layers.labels.removeLayer(m);
  const ul = $('#zone-list');
  ul.innerHTML = '';
  for (const f of zones) {
    const p = f.properties;
    const st = state.status.get(f.id);
    const fill = st ? STATUS[st.status] : NO_STATUS;
    const ks = kindStyle(p.kind);
    const g = L.geoJSON(f, {
      pane: 'zonesPane',
      style: { color: ks.color, weight: 3, dashArray: ks.dash, fillColor: fill, fillOpacity: 0.5, className: `hv-zone hv-zone-${f.id}` },
    });
    const stText = st ? `${st.status} (${st.violations} violations, ${st.uncertain} uncertain, ${st.fatalities} deaths in the 7 days before)` : 'no status';
    g.bindTooltip(`<b>${esc(p.name)}</b><br>${esc(ks.label)} · phase ${esc(p.phase || '—')}<br>${esc(stText)}<br>guarantors: ${esc((p.guarantors || []).join(', ') || '—')}`, { sticky: true });
    layers.zones.addLayer(g);
    g.eachLayer((l) => l.getElement && l.getElement() && l.getElement().setAttribute('data-zone', f.id));
    label(layers.labels, centerOf(g), shortName(p.name), 'zone', 3, `${p.phase || ''}${st ? ' · ' + st.status : ''}`);
    const li = document.createElement('li');
    li.dataset.zone = f.id;
    li.innerHTML = `<span class="swatch" style="background:${fill};border:2px solid ${ks.color}"></span><b>${esc(p.name)}</b><br><span class="muted">${esc(ks.label)} · phase ${esc(p.phase || '—')} · ${esc(st ? st.status : 'no status')}</span>`;
    li.addEventListener('click', () => map.flyToBounds(g.getBounds(), { maxZoom: 10, duration: 0.8 }));
    ul.appendChild(li);
  }
  if (!zones.length) ul.innerHTML = '<li class="muted">No zone in force on this date.</li>';
  appEl.dataset.zones = String(zones.length);
}

function shortName(n) {
  return n.replace(/ de-escalation area$/i, '').replace(/^Proposed /, '').replace(/ \(.*\)$/, '');
}

function corridorOpen(p, at) {
  if (p.status !== 'open') return false;
  if (!Array.isArray(p.windows) || !p.windows.length) return true;
  const t = Date.parse(at);
  return p.windows.some((w) => Date.parse(w.from) <= t && t < Date.parse(w.to));
}

function drawCorridors(items, at) {
  layers.corridors.clearLayers();
  const ul = $('#corridor-list');
  ul.innerHTML = '';
  for (const f of items) {
    if (!f.geometry) continue;
    const p = f.properties;
    const open = corridorOpen(p, at);
    const g = L.geoJSON(f, { pane: 'linesPane', style: { color: open ? CORRIDOR.open : CORRIDOR.closed, weight: 5, dashArray: open ? null : '8 6', className: 'hv-corridor' } });
    const win = (p.windows || []).map((w) => `${esc(w.from.slice(0, 16))} – ${esc(w.to.slice(0, 16))}`).join('<br>');
    g.bindTooltip(`<b>${esc(p.name)}</b><br>${open ? 'open' : 'closed'} (status ${esc(p.status)})${win ? '<br>windows:<br>' + win : ''}`, { sticky: true });
    layers.corridors.addLayer(g);
    const li = document.createElement('li');
    li.innerHTML = `<span class="swatch" style="background:${open ? CORRIDOR.open : CORRIDOR.closed}"></span><b>${esc(p.name)}</b> — ${open ? 'open' : esc(p.status)}`;
    li.addEventListener('click', () => map.flyToBounds(g.getBounds(), { maxZoom: 11 }));
    ul.appendChild(li);
  }
  if (!ul.children.length) ul.innerHTML = '<li class="muted">None.</li>';
}

function drawSites(items) {
  layers.sites.clearLayers();
  let hidden = 0;
  for (const f of items) {
    if (!f.geometry) { hidden++; continue; } // may not be located by this viewer: draw nothing
    const p = f.properties;
    L.geoJSON(f, {
      pointToLayer: (_, ll) => L.circleMarker(ll, { pane: 'sitesPane', radius: 5, color: SITE, weight: 2, fillColor: '#fff', fillOpacity: 1, className: 'hv-site' }),
    }).bindTooltip(`<b>${esc(p.name)}</b><br>${esc(p.category)}, protected radius ${esc(p.radius_m)} m<br>notified by ${esc(p.notified_by)}`).addTo(layers.sites);
  }
  $('#sites-note').textContent = hidden ? `(${items.length - hidden} of ${items.length} locatable)` : `(${items.length})`;
}

function drawMovements(items) {
  layers.movements.clearLayers();
  for (const f of items) {
    if (!f.geometry) continue;
    const p = f.properties;
    L.geoJSON(f, { pane: 'linesPane', style: { color: '#0277bd', weight: 4, dashArray: '2 6', className: 'hv-movement' } })
      .bindTooltip(`<b>${esc(p.name || f.id)}</b><br>movement ${esc(p.valid_from || '')} – ${esc(p.valid_to || '')}`).addTo(layers.movements);
  }
}

function drawAreas(items) {
  layers.areas.clearLayers();
  L.geoJSON({ type: 'FeatureCollection', features: items }, { pane: 'areas', interactive: false, renderer: L.canvas({ pane: 'areas' }), smoothFactor: 2, style: { color: '#bcaaa4', weight: 1.2, fill: false, smoothFactor: 2 } }).addTo(layers.areas);
}

function drawDelineations(items) {
  layers.delineations.clearLayers();
  for (const f of items) {
    if (!f.geometry) continue;
    L.geoJSON(f, { pane: 'areas', style: { color: partyColor(f.properties.party), weight: 1, fillOpacity: 0.12 } })
      .bindTooltip(`delineation: ${esc(f.properties.party)}`, { sticky: true }).addTo(layers.delineations);
  }
}

// ---------------------------------------------------------------- incidents

const filterForm = $('#incident-filter');
filterForm.addEventListener('change', () => { loadIncidents(); if (activeTab === 'charts') loadCharts(); });

function worstClass(props, only) {
  const classes = (props.agreements || []).map((a) => a.class).filter((c) => !only || c === only);
  for (const c of CLASS_ORDER) if (classes.includes(c)) return c;
  return 'outside';
}

let incSeq = 0;
async function loadIncidents() {
  if (!state.who) return;
  const my = ++incSeq;
  const fd = new FormData(filterForm);
  const days = Number(fd.get('days'));
  const to = endOfDay(state.date);
  const from = `${addDays(state.date, 1 - days)}T00:00:00Z`;
  let fc;
  try {
    fc = await api.get('/v1/adjudications', { format: 'geojson', from, to, class: fd.get('class'), party: fd.get('party') });
  } catch { return; }
  if (my !== incSeq || !state.who) return;
  layers.incidents.clearLayers();
  const feats = fc.features || [];
  const counts = {};
  for (const f of feats) { const c = worstClass(f.properties, fd.get('class')); counts[c] = (counts[c] || 0) + 1; }
  $('#incident-summary').textContent = `${feats.length} incidents from ${from.slice(0, 10)} to ${state.date}: ` +
    CLASS_ORDER.filter((c) => counts[c]).map((c) => `${counts[c]} ${c}`).join(', ');
  if (fd.get('mode') === 'density') {
    // Counts on a 0.1° grid, shaded by count.
    const cells = new Map();
    for (const f of feats) {
      const [lon, lat] = f.geometry.coordinates;
      const k = `${Math.floor(lon * 10)},${Math.floor(lat * 10)}`;
      cells.set(k, (cells.get(k) || 0) + 1);
    }
    const max = Math.max(1, ...cells.values());
    for (const [k, n] of cells) {
      const [x, y] = k.split(',').map(Number);
      L.rectangle([[y / 10, x / 10], [(y + 1) / 10, (x + 1) / 10]], {
        pane: 'incidentsPane', stroke: false, fillColor: '#b71c1c', fillOpacity: 0.15 + 0.7 * Math.sqrt(n / max), className: 'hv-density',
      }).bindTooltip(`${n} incidents`).addTo(layers.incidents);
    }
  } else {
    for (const f of feats) {
      const p = f.properties;
      const c = worstClass(p, fd.get('class'));
      const [lon, lat] = f.geometry.coordinates;
      const ags = (p.agreements || []).filter((a) => a.class === 'violation' || a.class === 'uncertain');
      L.circleMarker([lat, lon], { pane: 'incidentsPane', radius: 4 + Math.min(6, Math.sqrt(p.fatalities || 0)), color: '#fff', weight: 1, fillColor: CLASS[c], fillOpacity: 0.85, className: 'hv-incident' })
        .bindTooltip(`<b>${esc(p.incident)}</b> ${esc(p.t.slice(0, 10))} · ${esc(p.action)} · ${esc(p.fatalities ?? '?')} deaths<br>` +
          (ags.length ? ags.map((a) => `${esc(a.class)} of ${esc(a.agreement)}: ${esc(a.involved.map((i) => i.party + (i.guarantor ? ' (guarantor ' + i.guarantor + ')' : '')).join(', '))}`).join('<br>') : esc(c)))
        .addTo(layers.incidents);
    }
  }
}

// ---------------------------------------------------------------- charts

let chartSeq = 0;
async function loadCharts() {
  if (!state.who || !state.date) return;
  const my = ++chartSeq;
  const days = Number(new FormData(filterForm).get('days'));
  $('#chart-days').textContent = String(days);
  const end = state.date;
  const start = addDays(end, 1 - days);
  const dayList = [];
  for (let d = start; d <= end; d = addDays(d, 1)) dayList.push(d);
  const weeks = [];
  for (let k = 7; k >= 0; k--) weeks.push(addDays(end, -7 * k));
  let answers, statuses;
  try {
    [answers, statuses] = await Promise.all([
      api.get('/v1/adjudications', { format: 'json', class: 'violation', from: `${start}T00:00:00Z`, to: endOfDay(end) }),
      Promise.all(weeks.map((w) => api.get('/v1/zone-status', { at: endOfDay(w) }).then((r) => r.items))),
    ]);
  } catch { return; }
  if (my !== chartSeq || !state.who) return;
  const byParty = new Map(), byGuarantor = new Map();
  const idx = new Map(dayList.map((d, i) => [d, i]));
  const bump = (m, k, i) => { if (!m.has(k)) m.set(k, dayList.map(() => 0)); m.get(k)[i]++; };
  for (const a of answers) {
    const i = idx.get(String(a.t).slice(0, 10));
    if (i === undefined) continue;
    const parties = new Set(), guarantors = new Set();
    for (const ag of a.agreements || []) {
      if (ag.class !== 'violation') continue;
      for (const inv of ag.involved || []) { parties.add(inv.party); guarantors.add(inv.guarantor || 'none'); }
    }
    parties.forEach((p) => bump(byParty, p, i));
    guarantors.forEach((g) => bump(byGuarantor, g, i));
  }
  const series = (m) => [...m].map(([k, v]) => ({ key: k, label: k, color: partyColor(k), values: v }));
  const zoneNames = new Map(state.zones.map((z) => [z.id, z.properties.name]));
  const rowsMap = new Map();
  statuses.forEach((items, i) => {
    for (const s of items) {
      if (!rowsMap.has(s.zone)) rowsMap.set(s.zone, weeks.map(() => null));
      rowsMap.get(s.zone)[i] = s.status;
    }
  });
  const box = $('#charts');
  box.innerHTML = '';
  box.append(
    stackedBars({ title: 'Violations per day, by party involved', days: dayList, series: series(byParty) }),
    stackedBars({ title: 'Violations per day, by accountable guarantor', days: dayList, series: series(byGuarantor) }),
    statusGrid({ title: 'Zone status, week by week (7 days before each date)', cols: weeks,
      rows: [...rowsMap].map(([z, cells]) => ({ label: shortName(zoneNames.get(z) || z), cells })), colors: STATUS }),
  );
}

// ---------------------------------------------------------------- checks

const checkForm = $('#check-form');
map.on('click', (e) => {
  if (activeTab !== 'check') return;
  state.checkPoint = [Number(e.latlng.lng.toFixed(5)), Number(e.latlng.lat.toFixed(5))];
  checkForm.point.value = `${state.checkPoint[1]}, ${state.checkPoint[0]}`;
  drawCheck();
});
checkForm.radius.addEventListener('input', drawCheck);

function drawCheck(verdict) {
  layers.check.clearLayers();
  if (!state.checkPoint) return;
  const [lon, lat] = state.checkPoint;
  const col = verdict === 'forbidden' ? '#b71c1c' : verdict === 'conflict' ? '#e65100' : verdict === 'clear' ? '#2e7d32' : '#263238';
  L.circle([lat, lon], { radius: Number(checkForm.radius.value) || 0, color: col, weight: 2, dashArray: '4 3', fillOpacity: 0.15, interactive: false }).addTo(layers.check);
  L.circleMarker([lat, lon], { radius: 4, color: col, fillOpacity: 1, className: 'hv-check-point', interactive: false }).addTo(layers.check);
}

function defaultWindow() {
  if (checkForm.from.value) return;
  checkForm.from.value = `${state.date || todayUtc()}T10:00`;
  checkForm.to.value = `${state.date || todayUtc()}T11:00`;
}
document.querySelector('.tabs button[data-tab=check]').addEventListener('click', defaultWindow);

checkForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('#check-result');
  if (!state.checkPoint) { out.innerHTML = '<p class="error">Click the map to place the operation first.</p>'; return; }
  const body = {
    kind: checkForm.kind.value,
    geometry: { type: 'Point', coordinates: state.checkPoint },
    effect_radius_m: Number(checkForm.radius.value),
    from: checkForm.from.value + ':00Z',
    to: checkForm.to.value + ':00Z',
  };
  if (checkForm.target.value.trim()) body.target = checkForm.target.value.trim();
  out.innerHTML = '<p class="muted">Checking…</p>';
  try {
    const r = await api.post('/v1/checks', body);
    const a = r.answer;
    drawCheck(a.verdict);
    out.innerHTML = `<p class="verdict verdict-${esc(a.verdict)}" id="verdict" data-verdict="${esc(a.verdict)}">${esc(a.verdict.toUpperCase())}</p>
      <ol class="reasons">${(a.reasons || []).map(reasonHtml).join('') || '<li>No reason: nothing protected or forbidden within reach.</li>'}</ol>
      <p class="muted">Recorded in the ledger: entry ${esc(r.receipt.seq)}, checked at ledger head ${esc(a.at_seq)}. Keep the receipt: it proves what you were told.</p>
      <details><summary>Receipt</summary><pre>${esc(JSON.stringify(r.receipt, null, 1))}</pre></details>`;
  } catch (err) {
    out.innerHTML = `<p class="error">${esc(err.message)}</p>`;
  }
});

function reasonHtml(r) {
  const rest = Object.entries(r).filter(([k]) => k !== 'reason' && k !== 'effect')
    .map(([k, v]) => `${esc(k)}: ${esc(typeof v === 'object' ? JSON.stringify(v) : v)}`).join(' · ');
  return `<li class="effect-${esc(r.effect)}"><b>${esc(r.reason)}</b> → ${esc(r.effect)}<br><span class="muted">${rest}</span></li>`;
}

// ---------------------------------------------------------------- start

setDate(initialDate());
$('#token').focus();
window.haven = { map }; // for the browser test and debugging
