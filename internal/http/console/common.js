// common.js - small pieces several views use: how an API error is shown, and the lists that
// fill the filters' suggestions (policy packs, approver groups).

import { get, can, me, ApiError } from './api.js';
import { h, message } from './dom.js';

// An error from the API as a message: what could not be done, the server's detail (as text)
// and the request id to find the log line.
export function errorBox(e, what) {
  if (!(e instanceof ApiError)) return message('error', `Could not load ${what}: ${e.message}`);
  const rid = e.requestId ? h('span', { class: 'muted' }, ` (request ${e.requestId})`) : null;
  if (e.status === 403) {
    return message('warn', `You may not see ${what}. `, h('span', null, e.message), rid);
  }
  if (e.status === 404) return message('warn', `Not found: ${e.message}`, rid);
  if (e.status === 0) return message('error', `Could not load ${what}: ${e.message}`);
  return message('error', `Could not load ${what}: ${e.message} (HTTP ${e.status})`, rid);
}

// A failed write, shown next to its form.
export function writeError(e, what) {
  if (!(e instanceof ApiError)) return message('error', `${what} failed: ${e.message}`);
  const rid = e.requestId ? h('span', { class: 'muted' }, ` (request ${e.requestId})`) : null;
  return message('error', `${what} failed (HTTP ${e.status}): ${e.message}`, rid);
}

let packs = null;

// The loaded policy packs' ids, for suggestions; empty without policy.read.
export async function policyPackIds() {
  if (packs) return packs;
  if (!can('policy.read')) return [];
  try {
    const env = await get('/policy-packs');
    packs = env.items.map((p) => p.id);
  } catch {
    packs = [];
  }
  return packs;
}

// Approver groups the built-in routing rules and the design name, plus the user's own groups.
export function approverGroups() {
  const known = ['Repository Owners', 'Platform Security', 'AI Governance', 'IAM', 'Cloud Security',
    'Change Advisory Board'];
  return [...new Set([...me.groups, ...known])];
}

// A message for the next view (after a save that moves to another page).
let flash = null;

export function setFlash(text) {
  flash = text;
}

export function takeFlash() {
  const f = flash;
  flash = null;
  return f;
}

// Goes to a hash route; when it is the current one, renders it again.
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
