// api.js - the console's only way to the server: same-origin fetch with the session cookie,
// the CSRF header on every POST, and a 401 from any call sending the browser to log in.

export class ApiError extends Error {
  constructor(status, body, path) {
    const detail = body && typeof body.detail === 'string' ? body.detail : '';
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.path = path;
    this.requestId = body && body.request_id;
  }
}

// Who is signed in: the GET /auth/whoami answer, filled by loadWhoami().
export const me = {
  authMode: null, // "none" | "oidc"
  actor: null,
  subject: null,
  roles: [],
  permissions: [],
  groups: [],
  csrf: null,
  loginUrl: '/console/login',
};

let redirecting = false;

// Leaves for the login page, which comes back to where the user was.
function goLogin() {
  if (redirecting) return;
  redirecting = true;
  const back = location.pathname + location.search + location.hash;
  location.assign(`${me.loginUrl}?return_to=${encodeURIComponent(back)}`);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function call(method, path, params, body, retried = false) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    if (me.csrf) headers['X-CSRF-Token'] = me.csrf;
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path + query(params), init);
  } catch (e) {
    throw new ApiError(0, { detail: `the server did not answer (${e.message})` }, path);
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    data = await res.json().catch(() => null);
  }
  if (res.status === 401 && me.authMode !== 'none') {
    goLogin();
    throw new ApiError(401, { detail: 'not signed in: going to the login page' }, path);
  }
  // The session changed under this tab (a new login in another tab has its own CSRF token):
  // ask for the current token once and send the request again.
  if (res.status === 403 && method !== 'GET' && !retried && /CSRF/i.test(data?.detail || '')) {
    await loadWhoami();
    return call(method, path, params, body, true);
  }
  if (!res.ok) throw new ApiError(res.status, data, path);
  return data;
}

export const get = (path, params) => call('GET', path, params);
export const post = (path, body) => call('POST', path, null, body);

export async function loadWhoami() {
  const w = await get('/auth/whoami');
  me.authMode = w.auth_mode || 'none';
  me.actor = w.actor || null;
  me.subject = w.subject || null;
  me.roles = Array.isArray(w.roles) ? w.roles : [];
  me.permissions = Array.isArray(w.permissions) ? w.permissions : [];
  me.groups = Array.isArray(w.groups) ? w.groups : [];
  me.csrf = w.csrf_token || null;
  if (typeof w.login_url === 'string' && w.login_url.startsWith('/') && !w.login_url.startsWith('//')) {
    me.loginUrl = w.login_url;
  }
  return w;
}

export function can(permission) {
  return me.permissions.includes(permission);
}

// Approve and deny: the permission, and membership of the approval's group (admins and the
// auth-mode-none pilot excepted). The server checks the same again.
export function canDecide(approval) {
  if (!can('approvals.decide')) return false;
  if (me.authMode === 'none' || me.roles.includes('admin')) return true;
  return me.groups.includes(approval.approver_group);
}

// In auth mode none the server takes the actor from the body; otherwise it is the caller.
export function actorField() {
  return me.authMode === 'none';
}

export async function logout() {
  const r = await post('/console/logout', {});
  const to = r && typeof r.redirect === 'string' ? r.redirect : '';
  // Only an http(s) URL or a path of this origin: never a javascript: or data: URL.
  location.assign(/^(https?:\/\/|\/(?!\/))/i.test(to) ? to : '/console/');
}

// The path of a record whose id may contain '/' (repositories, policy rollouts): each segment
// encoded on its own so the server's {id+} sees the slashes.
export function restPath(base, id) {
  return `${base}/${String(id).split('/').map(encodeURIComponent).join('/')}`;
}

export function onePath(base, id) {
  return `${base}/${encodeURIComponent(String(id))}`;
}
