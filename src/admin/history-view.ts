import crypto from 'node:crypto';
import type { AdminResponse, AdminServer } from './server.js';
import type { Store } from '../stores/types.js';
import type { HistoryEntry } from '../history/record.js';
import { matches, readHistory, type HistoryFilter } from '../history/read.js';

const DEFAULT_ROWS = 200;
const MAX_ROWS = 5000;

/** Everything that reaches the page goes through here: entries name senders chosen by strangers. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function symbolsOf(e: HistoryEntry): string {
  return e.hits.map(([name, factor]) => (factor === 1 ? name : `${name}×${Number(factor.toFixed(2))}`)).join(' ');
}

function row(e: HistoryEntry): string {
  const cells = [
    `<td class="time" title="${escapeHtml(e.time)}">${escapeHtml(e.time.slice(0, 19).replace('T', ' '))}</td>`,
    `<td class="mono">${escapeHtml(e.tx)}</td>`,
    `<td class="mono">${escapeHtml(e.ip)}</td>`,
    `<td>${escapeHtml(e.helo)}</td>`,
    `<td>${escapeHtml(e.from || '<>')}</td>`,
    `<td>${[...e.rcpts.map(escapeHtml), ...(e.refusedRcpts ?? []).map((r) => `<s title="refused">${escapeHtml(r)}</s>`)].join('<br>')}</td>`,
    `<td><span class="action a-${escapeHtml(e.action.replace(/[^a-z_]/g, ''))}">${escapeHtml(e.action)}</span>${e.wouldBe ? `<div class="would">would be ${escapeHtml(e.wouldBe)}</div>` : ''}${e.refusal ? `<div class="would">by ${escapeHtml(e.refusal)}</div>` : ''}</td>`,
    `<td class="num">${e.score === undefined ? '' : escapeHtml(e.score.toFixed(2))}</td>`,
    `<td class="symbols">${escapeHtml(symbolsOf(e))}</td>`,
    `<td class="mono">${escapeHtml(e.queueId ?? '')}${e.origQueueId ? `<div class="would">from ${escapeHtml(e.origQueueId)}</div>` : ''}</td>`,
    `<td>${escapeHtml(e.instance ?? '')}</td>`,
  ];
  return `<tr data-action="${escapeHtml(e.action)}" data-client="${escapeHtml(e.ip)}" data-sender="${escapeHtml(e.from.toLowerCase())}" title="${escapeHtml(e.reply)}">${cells.join('')}</tr>`;
}

/** The page: a filter form that works without script, and a script that filters as you type. */
export function renderHistoryPage(entries: readonly HistoryEntry[], filter: HistoryFilter, limit: number, nonce: string, dryRun = false): string {
  const shown = entries.filter((e) => matches(e, filter));
  const actions = [...new Set(['accept', 'add_header', 'rewrite_subject', 'greylist', 'soft_reject', 'reject', 'discard', ...entries.map((e) => e.action)])];
  const options = ['', ...actions]
    .map((a) => `<option value="${escapeHtml(a)}"${a === filter.action ? ' selected' : ''}>${a ? escapeHtml(a) : 'any action'}</option>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Borderpatrol: recent verdicts</title>
<style nonce="${nonce}">
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #fafbfc; }
  h1 { font-size: 1.3rem; margin: 0 0 .8rem; }
  form { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin-bottom: .8rem; }
  label { display: flex; flex-direction: column; font-size: .8rem; color: #4a5468; }
  input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #c4cad6; border-radius: 4px; background: #fff; }
  button { background: #2f5bd3; color: #fff; border-color: #2f5bd3; cursor: pointer; }
  #count { color: #4a5468; margin: .4rem 0; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #e3e6ec; }
  th { background: #eef1f6; font-weight: 600; position: sticky; top: 0; }
  tr:hover td { background: #f5f8ff; }
  .mono, .time { font-family: ui-monospace, monospace; font-size: .85rem; white-space: nowrap; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
  .symbols { font-family: ui-monospace, monospace; font-size: .8rem; color: #4a5468; max-width: 22rem; }
  .action { display: inline-block; padding: .05rem .45rem; border-radius: 9px; font-size: .8rem; background: #e3e6ec; }
  .a-accept { background: #d9f2e1; color: #14532d; }
  .a-add_header, .a-rewrite_subject { background: #fdf0c8; color: #6b4e00; }
  .a-greylist, .a-tempfail, .a-soft_reject { background: #dde8fb; color: #1e3a8a; }
  .a-reject, .a-discard, .a-relay_refused { background: #fbdada; color: #7f1d1d; }
  .would { font-size: .75rem; color: #6b7385; }
  .empty { color: #6b7385; padding: 1rem .5rem; }
  .dry-run { background: #fdf0c8; color: #6b4e00; border: 1px solid #e8d28a; border-radius: 4px; padding: .5rem .7rem; margin-bottom: .8rem; }
</style>
</head>
<body>
<h1>Borderpatrol: recent verdicts</h1>
${dryRun ? '<p class="dry-run" id="dry-run"><strong>Dry-run is on:</strong> nothing is refused; each verdict shows what would have been done.</p>\n' : ''}<form method="get" action="view" id="filters">
  <label>Action <select name="action" id="f-action">${options}</select></label>
  <label>Client <input name="client" id="f-client" value="${escapeHtml(filter.client)}" placeholder="address" autocomplete="off"></label>
  <label>Sender <input name="sender" id="f-sender" value="${escapeHtml(filter.sender)}" placeholder="address or domain" autocomplete="off"></label>
  <label>Newest <input name="limit" type="number" min="1" max="${MAX_ROWS}" value="${limit}"></label>
  <button type="submit">Filter</button>
</form>
<div id="count">${shown.length} of ${entries.length} verdicts</div>
<table>
<thead><tr><th>Time (UTC)</th><th>Tx</th><th>Client</th><th>HELO</th><th>From</th><th>Recipients</th><th>Action</th><th>Score</th><th>Symbols</th><th>Queue id</th><th>Instance</th></tr></thead>
<tbody id="rows">
${entries.map((e) => row(e).replace('<tr ', matches(e, filter) ? '<tr ' : '<tr hidden ')).join('\n')}
</tbody>
</table>
${entries.length === 0 ? '<p class="empty">No verdicts yet.</p>' : ''}
<script nonce="${nonce}">
(() => {
  const action = document.getElementById('f-action');
  const client = document.getElementById('f-client');
  const sender = document.getElementById('f-sender');
  const count = document.getElementById('count');
  const rows = Array.from(document.querySelectorAll('#rows tr'));
  const apply = () => {
    const a = action.value, c = client.value.trim(), s = sender.value.trim().toLowerCase();
    let n = 0;
    for (const r of rows) {
      const show = (!a || r.dataset.action === a) && (!c || r.dataset.client.includes(c)) && (!s || r.dataset.sender.includes(s));
      r.hidden = !show;
      if (show) n++;
    }
    count.textContent = n + ' of ' + rows.length + ' verdicts';
    const q = new URLSearchParams(location.search);
    for (const [k, v] of [['action', a], ['client', c], ['sender', s]]) v ? q.set(k, v) : q.delete(k);
    history.replaceState(null, '', '?' + q.toString());
  };
  for (const el of [action, client, sender]) el.addEventListener('input', apply);
})();
</script>
</body>
</html>
`;
}

/**
 * GET /history/view: the newest verdicts as a page an admin opens in a browser, with the
 * admin password (HTTP Basic, any user name). Everything is inline (no external assets),
 * every value is escaped, and a Content-Security-Policy allows only this page's own style
 * and script.
 */
export function addHistoryView(admin: AdminServer, deps: { store: Store; dryRun: () => boolean }): void {
  admin.add({
    method: 'GET',
    path: '/history/view',
    auth: true,
    handle: async (req): Promise<AdminResponse> => {
      const q = req.url.searchParams;
      const rawLimit = q.get('limit');
      const limit = rawLimit === null || rawLimit === '' ? DEFAULT_ROWS : Number(rawLimit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROWS) {
        return { status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: `limit must be a whole number from 1 to ${MAX_ROWS}\n` };
      }
      const filter: HistoryFilter = { action: q.get('action') ?? '', client: q.get('client') ?? '', sender: q.get('sender') ?? '' };
      const entries = await readHistory(deps.store, limit);
      const nonce = crypto.randomBytes(16).toString('base64');
      return {
        headers: {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
        },
        body: renderHistoryPage(entries, filter, limit, nonce, deps.dryRun()),
      };
    },
  });
}
