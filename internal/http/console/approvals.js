// approvals.js - the approvals queue (by state and approver group), one approval with its
// history and the approve / deny / expire form, and the break-glass form. Buttons appear only
// for what GET /auth/whoami says the user may do; the server checks everything again.

import { get, post, me, can, canDecide, actorField, onePath } from './api.js';
import {
  h, add, badge, time, text, code, route, withQuery, table, dl, message, loading, clear, uid,
  APPROVAL_STATES,
} from './dom.js';
import { filterForm, pager, pageParams } from './list.js';
import { errorBox, writeError, approverGroups } from './common.js';
import { decisionFields } from './activity.js';

const FILTERS = ['state', 'approver_group', 'session_id', 'decision_id'];

export async function approvalsView(view, query) {
  const listBox = h('section', { 'aria-label': 'Approvals' }, loading('approvals'));
  const head = h('div', { class: 'title-row' }, h('h1', null, 'Approvals'));
  if (can('approvals.break_glass')) {
    head.append(h('a', { class: 'button danger', href: '#/break-glass' }, 'Break glass…'));
  }
  const mine = me.groups.length && can('approvals.decide')
    ? h('p', { class: 'quick' }, 'Pending for my groups: ', me.groups.map((g, i) => [i ? ' · ' : '',
      h('a', { href: withQuery('#/approvals', { state: 'pending', approver_group: g }) }, g)]))
    : null;
  add(view, head, mine,
    filterForm('Filter approvals', [
      { name: 'state', label: 'State', type: 'select', options: APPROVAL_STATES },
      { name: 'approver_group', label: 'Approver group', list: approverGroups() },
      { name: 'session_id', label: 'Session' },
      { name: 'decision_id', label: 'Decision' },
    ], query, '#/approvals'),
    listBox);
  try {
    const env = await get('/approvals', pageParams(query, FILTERS));
    clear(listBox).append(table('Approvals, newest first', [
      { label: 'Approval', cell: (a) => h('a', { href: route('approvals', a.approval_id) }, h('code', null, a.approval_id)) },
      { label: 'State', cell: (a) => badge('approval', a.state) },
      { label: 'Approver group', cell: (a) => text(a.approver_group) },
      { label: 'Severity', cell: (a) => badge('severity', a.severity) },
      { label: 'Action', cell: (a) => text(a.action_type) },
      { label: 'Target', cell: (a) => code(a.target), class: 'wrap' },
      { label: 'Repository', cell: (a) => text(a.repository) },
      { label: 'Agent', cell: (a) => text(a.agent_id) },
      { label: 'Requested by', cell: (a) => text(a.requested_by) },
      { label: 'Requested', cell: (a) => time(a.requested_at) },
      { label: 'Expires', cell: (a) => time(a.expires_at) },
    ], env.items, { rowProps: (a) => ({ 'data-id': a.approval_id }) }), pager(env, query, '#/approvals'));
  } catch (e) {
    clear(listBox).append(errorBox(e, 'approvals'));
  }
}

function historyTable(history) {
  return table('History', [
    { label: 'Event', cell: (x) => badge('event', x.event) },
    { label: 'Actor', cell: (x) => text(x.actor) },
    { label: 'Time', cell: (x) => time(x.timestamp) },
    { label: 'Reason', cell: (x) => text(x.reason), class: 'wrap' },
    { label: 'External reference', cell: (x) => text(x.external_ref) },
  ], history || [], { empty: 'No history.', showCaption: false });
}

function inputField(label, props, hint) {
  const id = uid('in');
  const input = props.tag === 'textarea'
    ? h('textarea', { ...props, tag: null, id, rows: 3 })
    : h('input', { type: 'text', ...props, id });
  return h('div', { class: 'field' }, h('label', { for: id }, label, props.required ? ' (required)' : ''),
    input, hint ? h('small', null, hint) : null);
}

// Approve, deny or expire: reason required for approve and deny.
function decideForm(a, onDone) {
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'decide', 'aria-label': 'Decide this approval' },
    h('h2', null, 'Decide'),
    actorField() ? inputField('Actor', { name: 'actor', required: true, autocomplete: 'username' },
      'auth mode none: the server records the actor you type') : null,
    inputField('Reason', { tag: 'textarea', name: 'reason', required: true }),
    inputField('External reference', { name: 'external_ref' }, 'a change or incident ticket (optional)'),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', value: 'approve', class: 'primary' }, 'Approve'),
      h('button', { type: 'submit', value: 'deny', class: 'danger' }, 'Deny'),
      h('button', { type: 'submit', value: 'expire', formnovalidate: true }, 'Expire')),
    status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const what = ev.submitter ? ev.submitter.value : 'approve';
    const body = {};
    for (const el of form.elements) if (el.name && el.value.trim()) body[el.name] = el.value.trim();
    if (what !== 'expire' && !body.reason) {
      clear(status).append(message('error', 'A reason is required to approve or deny.'));
      form.elements.reason.focus();
      return;
    }
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => { b.disabled = true; });
    clear(status).append(loading('the answer'));
    try {
      const updated = await post(`${onePath('/approvals', a.approval_id)}/${what}`, body);
      onDone(updated, `The approval is now ${updated.state.replaceAll('_', ' ')}.`);
    } catch (e) {
      clear(status).append(writeError(e, what[0].toUpperCase() + what.slice(1)));
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

function renderApproval(box, a, notice) {
  const decision = a.decision && typeof a.decision === 'object' ? a.decision : null;
  add(clear(box),
    notice ? message('ok', notice) : null,
    dl([
      ['State', badge('approval', a.state)],
      ['Approver group', text(a.approver_group)],
      ['Routed by', text(a.routed_by)],
      ['Requested by', text(a.requested_by)],
      ['Requested', time(a.requested_at)],
      ['Expires', time(a.expires_at)],
      ['Decided by', text(a.decided_by)],
      ['Decided', time(a.decided_at)],
      ['Decision reason', text(a.decision_reason)],
      ['External reference', text(a.external_ref)],
      ...(a.break_glass ? [['Break-glass reason', text(a.break_glass_reason)],
        ['Active', a.active ? 'yes' : 'no']] : []),
      ['Decision', h('a', { href: route('decisions', a.decision_id) }, h('code', null, a.decision_id))],
      ['Session', a.session_id ? h('a', { href: route('sessions', a.session_id) }, a.session_id) : text(null)],
      ['Evidence', text(a.evidence_refs)],
    ]));
  if (a.state === 'pending' && canDecide(a)) {
    box.append(decideForm(a, (updated, msg) => renderApproval(box, updated, msg)));
  } else if (a.state === 'pending') {
    box.append(h('p', { class: 'muted' }, can('approvals.decide')
      ? `Only members of "${a.approver_group}" decide this approval.`
      : 'You may read this approval but not decide it.'));
  }
  box.append(h('h2', null, 'History'), historyTable(a.history));
  if (decision) box.append(h('h2', null, 'The decision'), decisionFields(decision));
}

export async function approvalView(view, id) {
  const box = h('section', null, loading('the approval'));
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/approvals?state=pending' }, '‹ Approvals')),
    h('h1', null, 'Approval ', h('code', null, id)), box);
  try {
    renderApproval(box, await get(onePath('/approvals', id)));
  } catch (e) {
    clear(box).append(errorBox(e, 'the approval'));
  }
}

// ---- break-glass: an emergency approval with a reason and an external reference

export async function breakGlassView(view, query) {
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/approvals' }, '‹ Approvals')),
    h('h1', null, 'Break glass'),
    h('p', null, 'For an emergency that cannot wait for the approver group. It creates an approval in '
      + 'state "break glass" for the Change Advisory Board, valid for at most 4 hours, and it is '
      + 'final. Auditors follow the external reference.'));
  if (!can('approvals.break_glass')) {
    view.append(message('warn', 'You may not break glass (needs the break_glass_approver role).'));
    return;
  }
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'break-glass', 'aria-label': 'Break glass' },
    inputField('Decision id', { name: 'decision_id', required: true, value: query.decision_id || '',
      pattern: '\\S+', placeholder: 'dec_…' }),
    actorField() ? inputField('Actor', { name: 'actor', required: true }) : null,
    inputField('Reason', { tag: 'textarea', name: 'reason', required: true }),
    inputField('External reference', { name: 'external_ref', required: true, placeholder: 'INC-1234' }),
    inputField('Hours valid (at most 4)', { name: 'ttl_hours', type: 'number', min: '0.1', max: '4', step: '0.1',
      placeholder: '4' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Break glass')),
    status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const el of form.elements) if (el.name && el.value.trim()) body[el.name] = el.value.trim();
    if (body.ttl_hours) body.ttl_hours = Number(body.ttl_hours);
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const a = await post('/approvals/break-glass', body);
      location.hash = route('approvals', a.approval_id);
    } catch (e) {
      clear(status).append(writeError(e, 'Break glass'));
      button.disabled = false;
    }
  });
  view.append(form);
}
