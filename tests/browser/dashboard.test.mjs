// dashboard.test.mjs — the web dashboard in a real browser: Debian's chromium
// driven by playwright-core against `haven serve` on loopback with the
// bundled Syrian scenario.
//
//   node tests/browser/dashboard.test.mjs
//
// Environment: HAVEN_BIN, HAVEN_MKSCENARIO, HAVEN_SOURCE_DIR, HAVEN_WEB_DIR
// (the built dashboard: node web/build.mjs DIR), HAVEN_SCRATCH_DIR (work dir),
// HAVEN_ARTIFACTS (screenshots; default $HAVEN_SCRATCH_DIR/screenshots),
// CHROMIUM (default /usr/bin/chromium), HAVEN_INCIDENTS (the UCDP CSV;
// default $HAVEN_SHARED_DATA/conflict/ucdp_ged_syria_2016_2018_2019.csv;
// required). playwright-core is resolved from web/node_modules.
//
// Steps (a screenshot after each, NN-name.png): log in as the coordinator;
// the scenario's 6 zones drawn at 2018-01-01; a live alert from positions
// posted while the page is open; the timeline before the Astana memorandum
// (only the 2 border zones) and back; a deconfliction check whose verdict
// equals the API's for the same request; ru sees its aircraft and not us's,
// us the reverse. Fails if the page requests anything off 127.0.0.1.
// Exit 0 when all pass, 1 otherwise.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const env = (k, d) => process.env[k] || d;
const SRC = resolve(env('HAVEN_SOURCE_DIR', join(here, '..', '..')));
const BIN = resolve(env('HAVEN_BIN', join(SRC, 'build', 'haven')));
const MKSCN = resolve(env('HAVEN_MKSCENARIO', join(SRC, 'build', 'mkscenario')));
const WEB = resolve(env('HAVEN_WEB_DIR', join(SRC, 'build', 'web')));
const SCRATCH = resolve(env('HAVEN_SCRATCH_DIR', join(SRC, 'build', 'browser-test')));
const ART = resolve(env('HAVEN_ARTIFACTS', join(SCRATCH, 'screenshots')));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const UCDP = env('HAVEN_INCIDENTS',
  join(env('HAVEN_SHARED_DATA', join(SRC, '..', 'shared', 'data')),
       'conflict', 'ucdp_ged_syria_2016_2018_2019.csv'));

const require = createRequire(join(SRC, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
class Fail extends Error {}
const check = (cond, msg) => { if (!cond) throw new Fail(msg); };

const W = join(SCRATCH, `work.${process.pid}`);
const DATA = join(W, 'data');
rmSync(W, { recursive: true, force: true });
mkdirSync(W, { recursive: true });
mkdirSync(ART, { recursive: true });
for (const f of readdirSync(ART)) if (/^\d\d-.*\.png$/.test(f)) rmSync(join(ART, f));

const haven = (...args) => execFileSync(BIN, ['--data', DATA, ...args], { cwd: W, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let server = null, browser = null, page = null, failed = false;
const offsite = [];
const pageErrors = [];
const consoleErrors = []; // failed loads (the wrong token's 401) land here too: reported, not failed

async function main() {
  // The store: scenario, incidents, adjudications, tokens.
  execFileSync(MKSCN, [join(SRC, 'data', 'src'), 'scenario'], { cwd: W, stdio: 'ignore' });
  const scn = readdirSync(join(W, 'scenario')).filter((f) => f.endsWith('.geojson')).map((f) => join(W, 'scenario', f));
  haven('import', join(SRC, 'data/scenario/registry.json'), join(SRC, 'data/scenario/corridors.geojson'), ...scn);
  // Real incidents are part of what is checked (density, charts): required.
  if (!existsSync(UCDP)) throw new Fail(`${UCDP} is missing (set HAVEN_SHARED_DATA or HAVEN_INCIDENTS)`);
  haven('incidents', 'import', '--format', 'ucdp', '--utc-offset', '+02:00', UCDP);
  haven('adjudicate');
  const token = (party, role) => haven('token', 'create', '--party', party, '--role', role).match(/hv1\.[A-Za-z0-9_.-]+/)[0];
  const tok = { coordinator: token('coordinator', 'coordinator'), ru: token('ru', 'party'), us: token('us', 'party') };
  log('store ready');

  // The server.
  server = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', DATA, '--web', WEB], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', () => {});
  const base = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Fail('server did not say where it listens')), 10000);
    createInterface({ input: server.stdout }).on('line', (l) => {
      const m = l.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); res(m[1]); }
    });
    server.on('exit', (c) => rej(new Fail(`server exited (${c})`)));
  });
  log('server at', base);
  const call = async (method, path, token, body, type = 'application/json') => {
    const r = await fetch(base + path, { method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': type } : {}) }, body });
    const j = await r.json();
    check(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };

  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
      '--disable-sync', '--no-first-run', '--disable-domain-reliability', '--metrics-recording-only', '--disable-gpu',
      '--disable-dev-shm-usage'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (!(u.protocol === 'data:' || u.protocol === 'blob:' || u.hostname === '127.0.0.1')) offsite.push(req.url());
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  const shot = (name) => page.screenshot({ path: join(ART, name) });
  const idle = () => page.waitForFunction(() => document.getElementById('app').dataset.pending === '0', null, { timeout: 10000 });

  const login = async (t) => {
    await page.fill('#token', t);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login', { state: 'hidden', timeout: 5000 });
    await idle();
  };
  const logout = async () => {
    await page.click('#logout');
    await page.waitForSelector('#login', { state: 'visible' });
  };
  const zonePaths = () => page.$$eval('.leaflet-pane path.hv-zone', (ps) => ps.length);
  const setDate = async (d) => {
    await page.fill('#tl-date', d);
    await page.dispatchEvent('#tl-date', 'change');
    await page.waitForFunction((d) => document.getElementById('app').dataset.date === d, d);
    await page.waitForTimeout(100);
    await idle();
  };

  const favicon = await fetch(base + '/ui/favicon.svg');
  check(favicon.ok, 'no /ui/favicon.svg');

  // Places an air strike at lon, lat (clicking the map at `zoom`), radius_m,
  // 2017-06-01 10:00-11:00; checks the verdict shown equals the API's answer
  // to the same request with the same token.
  const checkAt = async (lon, lat, zoom, radius_m, token) => {
    await page.click('.tabs button[data-tab=check]');
    await page.evaluate(([lat, lon, z]) => window.haven.map.setView([lat, lon], z, { animate: false }), [lat, lon, zoom]);
    await page.waitForTimeout(300);
    const box = await page.locator('#map').boundingBox();
    const pt = await page.evaluate(([lat, lon]) => { const p = window.haven.map.latLngToContainerPoint([lat, lon]); return { x: p.x, y: p.y }; }, [lat, lon]);
    await page.mouse.click(box.x + pt.x, box.y + pt.y);
    const point = await page.inputValue('#check-form input[name=point]');
    check(point, 'clicking the map set no point');
    await page.selectOption('#check-form select[name=kind]', 'air_strike');
    await page.fill('#check-form input[name=radius]', String(radius_m));
    await page.fill('#check-form input[name=from]', '2017-06-01T10:00');
    await page.fill('#check-form input[name=to]', '2017-06-01T11:00');
    const reqP = page.waitForRequest((r) => r.url().endsWith('/v1/checks') && r.method() === 'POST');
    await page.click('#check-form button[type=submit]');
    const sent = JSON.parse((await reqP).postData());
    await page.waitForSelector('#verdict', { timeout: 5000 });
    const shown = await page.getAttribute('#verdict', 'data-verdict');
    const mine = await call('POST', '/v1/checks', token, JSON.stringify(sent));
    check(shown === mine.answer.verdict, `the page shows ${shown}, the API answers ${mine.answer.verdict}`);
    check(['clear', 'conflict', 'forbidden'].includes(shown), `verdict ${shown}`);
    const reasons = await page.$$eval('.reasons li', (l) => l.length);
    check(reasons === mine.answer.reasons.length || mine.answer.reasons.length === 0, `reasons shown ${reasons}, API ${mine.answer.reasons.length}`);
    return { point, shown, reasons, answer: mine.answer };
  };

  // (1) Log in as the coordinator, the timeline at 2018-01-01 from the URL.
  await page.goto(`${base}/#at=2018-01-01`);
  await page.waitForSelector('#login-form');
  await page.fill('#token', 'hv1.000000000000.wrong');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  await login(tok.coordinator);
  const who = await page.textContent('#who');
  check(/coordinator/.test(who), `who am I shows "${who}"`);
  await shot('01-login.png');
  log('1 logged in as', who.trim());

  // (2) The zones: all 6 of the scenario are in force on 2018-01-01.
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-pane path.hv-zone').length >= 6, null, { timeout: 5000 });
  const n6 = await zonePaths();
  check(n6 >= 6, `zones drawn at 2018-01-01: ${n6}, expected >= 6`);
  check(await page.$('path.hv-zone-astana-idlib'), 'no Idlib zone path');
  const labels = await page.$$eval('.hv-label-zone span', (s) => s.filter((e) => e.style.visibility !== 'hidden')
    .map((e) => e.innerText.replace(/\n/g, ' · ')));
  check(labels.length >= 1, 'no zone label');
  await shot('02-zones.png');
  log('2 zones drawn:', n6, 'labels:', labels.join(' | '));

  // (3) A live alert: two aircraft, ru and us, 5 km apart head-on at the
  // same altitude over northern Syria.
  await page.click('.tabs button[data-tab=alerts]');
  await page.waitForFunction(() => /live/.test(document.getElementById('stream-state').textContent));
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const rep = (asset, party, lon, trk) => JSON.stringify({ asset, party, class: 'fixed_wing', t: now, lon, lat: 36.4, alt_m: 6000, gs_mps: 200, trk_deg: trk });
  const posted = await call('POST', '/v1/positions', tok.coordinator,
    [rep('RU-SU24-01', 'ru', 37.0, 90), rep('US-F16-01', 'us', 37.056, 270)].join('\n') + '\n', 'application/x-ndjson');
  check(posted.findings.some((f) => f.kind === 'separation_conflict'), 'the positions raised no separation_conflict');
  await page.waitForSelector('#alert-list li[data-kind=separation_conflict]', { timeout: 5000 });
  await page.click('#alert-list li[data-kind=separation_conflict]');
  await page.waitForTimeout(1000);
  await page.waitForSelector('svg[data-asset="RU-SU24-01"]', { timeout: 5000 });
  await shot('03-alert.png');
  log('3 live alert shown; findings posted:', posted.findings.map((f) => f.kind).join(','));

  // (4) The timeline: before the Astana memorandum only the border zones.
  await page.click('.tabs button[data-tab=layers]');
  await setDate('2016-03-01');
  const before = await zonePaths();
  check(before === 2, `zones at 2016-03-01: ${before}, expected 2 (no Astana zone)`);
  check(!(await page.$('path.hv-zone-astana-idlib')), 'the Idlib zone is drawn before the memorandum');
  check(new URL(page.url()).hash === '#at=2016-03-01', 'the URL does not follow the timeline');
  await shot('04-timeline-2016-03-01.png');
  await setDate('2018-01-01');
  const after = await zonePaths();
  check(after >= 6, `zones back at 2018-01-01: ${after}`);
  log('4 timeline: 2016-03-01 ->', before, 'zones; 2018-01-01 ->', after);

  // (5) A deconfliction check: an air strike in Idlib city, June 2017.
  await setDate('2017-06-01');
  const { point, shown, reasons } = await checkAt(36.633, 35.93, 10, 1000, tok.coordinator);
  await shot('05-check.png');
  log('5 check at', point, '->', shown, `(${reasons} reasons)`);

  // Incidents as a density layer and the charts: the 30 days to 2018-03-15
  // (the Eastern Ghouta offensive; UCDP's file has no 2017).
  await setDate('2018-03-15');
  await page.evaluate(() => window.haven.map.setView([35.0, 38.5], 7, { animate: false }));
  await page.click('.tabs button[data-tab=incidents]');
  await page.selectOption('#incident-filter select[name=mode]', 'density');
  await page.waitForSelector('path.hv-density', { state: 'attached', timeout: 5000 });
  await idle();
  const summary = await page.textContent('#incident-summary');
  check(/^\d+ incidents/.test(summary), `incident summary "${summary}"`);
  await shot('06-incidents-density.png');
  await page.selectOption('#incident-filter select[name=mode]', 'points');
  await page.selectOption('#incident-filter select[name=class]', 'violation');
  await page.waitForSelector('path.hv-incident', { state: 'attached', timeout: 5000 });
  await page.click('.tabs button[data-tab=charts]');
  await page.waitForFunction(() => document.querySelectorAll('#charts figure').length === 3, null, { timeout: 10000 });
  const bars = await page.$$eval('#charts figure svg rect', (r) => r.length);
  check(bars > 0, 'the charts have no bars');
  await shot('07-charts.png');
  log('incidents:', summary, '; charts drawn,', bars, 'rects');

  // (6) Need-to-know: ru sees its aircraft and not us's; us the reverse.
  const tracksOf = () => page.$$eval('svg[data-asset]', (s) => s.map((e) => e.dataset.asset).sort());
  await logout();
  check((await zonePaths()) === 0 && (await tracksOf()).length === 0 && (await page.$$('#alert-list li')).length === 0,
    'logout left data on the page');
  await login(tok.ru);
  await page.waitForSelector('svg[data-asset="RU-SU24-01"]', { timeout: 5000 });
  const ruSees = await tracksOf();
  check(ruSees.includes('RU-SU24-01') && !ruSees.includes('US-F16-01'), `ru sees tracks ${ruSees}`);
  check(/ru/.test(await page.textContent('#who')), 'who am I does not say ru');
  // ru's alerts: the separation conflict (its aircraft is in it), replayed at
  // login; not the us aircraft's zone entries (seen by us and tr only).
  await page.waitForSelector('#alert-list li[data-kind=separation_conflict]', { state: 'attached', timeout: 5000 });
  const ruAlerts = await page.$$eval('#alert-list li', (l) => l.map((e) => e.dataset.kind));
  check(!ruAlerts.includes('zone_enter'), `ru sees alerts ${ruAlerts}`);
  await shot('08-ru.png');
  // ru's check on Al-Sakhour hospital (M10, Aleppo; ru is not a recipient):
  // a conflict given by category and distance band, never the coordinates.
  const m10 = await checkAt(37.1950, 36.2170, 13, 500, tok.ru);
  check(m10.shown === 'conflict', `ru's M10 check: ${m10.shown}, expected conflict`);
  const m10Text = await page.textContent('#check-result');
  check(/hospital/.test(m10Text) && /< 1 km/.test(m10Text), 'ru\'s M10 check does not show the hospital and its band');
  check(!/37\.1928|36\.2164/.test(await page.content()), 'the page shows the hospital\'s coordinates to ru');
  await shot('09-ru-check.png');
  await logout();
  await login(tok.us);
  await page.waitForSelector('svg[data-asset="US-F16-01"]', { timeout: 5000 });
  const usSees = await tracksOf();
  check(usSees.includes('US-F16-01') && !usSees.includes('RU-SU24-01'), `us sees tracks ${usSees}`);
  await page.waitForSelector('#alert-list li[data-kind=zone_enter]', { state: 'attached', timeout: 5000 });
  await shot('10-us.png');
  log('6 ru sees', ruSees.join(','), '; ru\'s M10 check:', m10.shown, '; us sees', usSees.join(','));

  check(offsite.length === 0, `the page requested off-site: ${offsite.join(' ')}`);
  check(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`);
}

function stop() {
  return new Promise((res) => {
    if (!server || server.exitCode !== null || server.signalCode !== null)
      return res();
    server.on('exit', res);
    server.kill('SIGTERM');
    setTimeout(() => { server.kill('SIGKILL'); }, 5000).unref();
  });
}

try {
  await main();
  log('PASS: all dashboard checks; screenshots in', ART);
} catch (e) {
  failed = true;
  console.error('FAIL:', e instanceof Fail ? e.message : e.stack || e);
  if (pageErrors.length || consoleErrors.length) console.error('page errors:', [...pageErrors, ...consoleErrors].join('\n'));
  if (page) await page.screenshot({ path: join(ART, '99-failure.png') }).catch(() => {});
} finally {
  if (browser) await browser.close().catch(() => {});
  await stop();
  if (!failed) rmSync(W, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
