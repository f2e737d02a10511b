// api.js — the dashboard's only way to the server: every request carries the
// logged-in user's token, so what the page shows is what haven's need-to-know
// rule lets that token see. Nothing is cached here; logout() forgets the token.

export class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${status} ${e.code}: ${e.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = e && e.code;
  }
}

export class Api {
  constructor(onPending) {
    this.token = null;
    this.pending = 0;
    this.onPending = onPending || (() => {});
    this.generation = 0; // bumped at logout: replies to older requests are dropped
  }

  setToken(token) {
    this.token = token;
    this.generation++;
  }

  _track(delta) {
    this.pending += delta;
    this.onPending(this.pending);
  }

  async request(method, path, { params, body, headers } = {}) {
    const gen = this.generation;
    let url = path;
    if (params) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
      const s = q.toString();
      if (s) url += '?' + s;
    }
    const h = { Authorization: `Bearer ${this.token}`, ...(headers || {}) };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    this._track(1);
    try {
      const r = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
      const text = await r.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = null; }
      if (gen !== this.generation) throw new ApiError(0, { error: { code: 'stale', message: 'logged out' } });
      if (!r.ok) throw new ApiError(r.status, json);
      return json;
    } finally {
      this._track(-1);
    }
  }

  get(path, params) { return this.request('GET', path, { params }); }
  post(path, body) { return this.request('POST', path, { body }); }

  // Every item of a collection, following `next` (at most `max` items).
  async all(path, params, max = 5000) {
    const items = [];
    let cursor = null;
    do {
      const page = await this.get(path, { ...params, limit: 1000, cursor });
      items.push(...page.items);
      cursor = page.next;
    } while (cursor && items.length < max);
    return items;
  }

  // GET /v1/alerts/stream read with fetch(): EventSource cannot send the
  // Authorization header. Parses the SSE text itself and calls
  // onEvent({event, id, data}) per event. Resolves when the stream ends;
  // abort it with `signal`.
  async stream(params, onEvent, signal) {
    const q = new URLSearchParams(params || {}).toString();
    const r = await fetch('/v1/alerts/stream' + (q ? '?' + q : ''), {
      headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' },
      signal,
      cache: 'no-store',
    });
    if (!r.ok) {
      let json = null;
      try { json = await r.json(); } catch { /* not JSON */ }
      throw new ApiError(r.status, json);
    }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let ev = { event: 'message', id: null, data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (ev.data.length) {
            let data = ev.data.join('\n');
            try { data = JSON.parse(data); } catch { /* leave as text */ }
            onEvent({ event: ev.event, id: ev.id, data });
          }
          ev = { event: 'message', id: null, data: [] };
          continue;
        }
        if (line.startsWith(':')) continue; // comment (keepalive)
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let val = c < 0 ? '' : line.slice(c + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'event') ev.event = val;
        else if (field === 'data') ev.data.push(val);
        else if (field === 'id') ev.id = val;
      }
    }
  }
}
