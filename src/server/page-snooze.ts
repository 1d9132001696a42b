// The status page's snooze parts, shown when an Alertmanager is configured: a form per outdated
// row (one button per choice, no JavaScript) and the snoozes in force, each with its "expire".

import { SNOOZE_CHOICES } from '../snooze/silence.js';
import type { SnoozeList } from '../snooze/snoozer.js';
import type { ImageView } from '../view/images.js';
import { CSRF_FIELD } from './csrf.js';
import { type Html, html } from './html.js';
import { when } from './page-rows.js';

/** What the page needs to show snoozes: the form token and what Alertmanager holds. */
export interface SnoozeView {
  csrf: string;
  list: SnoozeList;
}

type Silence = Extract<SnoozeList, { silences: unknown }>['silences'][number];

const imageOf = (s: Silence) => s.matchers.find((m) => m.name === 'image' && !m.isRegex)?.value;

const csrfField = (token: string) =>
  html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

/** The cell of an outdated row: until when the image is snoozed, and the buttons. */
export function snoozeCell(image: ImageView, snooze: SnoozeView, now: number): Html {
  const active = 'silences' in snooze.list ? snooze.list.silences : [];
  const until = active
    .filter((s) => imageOf(s) === image.image && s.status.state === 'active')
    .map((s) => s.endsAt)
    .sort()
    .at(-1);
  return html`<td data-label="Snooze">${until ? html`<p class="snoozed">snoozed until ${when(until, now)}</p>` : ''}<form method="post" action="/snooze" class="snooze">${csrfField(snooze.csrf)}
<input type="hidden" name="provider" value="${image.provider}">
<input type="hidden" name="image" value="${image.image}">
${SNOOZE_CHOICES.map((c) => html`<button type="submit" name="for" value="${c.value}" title="Silence this image's update alerts in Alertmanager">${c.label}</button>`)}</form></td>`;
}

function silenceRow(s: Silence, csrf: string, now: number): Html {
  return html`<tr data-status="snoozed" data-silence="${s.id}">
<td data-label="Image"><code>${imageOf(s) ?? s.matchers.map((m) => `${m.name}${m.isRegex ? '=~' : '='}"${m.value}"`).join(', ')}</code></td>
<td data-label="Until">${when(s.endsAt, now)}${s.status.state === 'pending' ? html` <small>(from ${s.startsAt.slice(0, 16).replace('T', ' ')} UTC)</small>` : ''}</td>
<td data-label="Why">${s.comment} <small>by ${s.createdBy}</small></td>
<td data-label="Expire"><form method="post" action="/snooze/expire">${csrfField(csrf)}
<input type="hidden" name="id" value="${s.id}"><button type="submit">expire</button></form></td>
</tr>`;
}

/** The "Snoozed" section: the silences in force, or why Alertmanager could not say. */
export function snoozeSection(snooze: SnoozeView, now: number): Html {
  const { list } = snooze;
  let body: Html;
  if (list.error !== undefined) {
    body = html`<p class="error">Snoozes unknown: ${list.error}</p>`;
  } else if (list.silences.length === 0) {
    body = html`<p class="empty">Nothing is snoozed.</p>`;
  } else {
    const heads = ['Image', 'Until', 'Why', 'Expire'];
    body = html`<table><thead><tr>${heads.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${list.silences.map((s) => silenceRow(s, snooze.csrf, now))}</tbody></table>`;
  }
  return html`<section id="snoozed"><h2>Snoozed</h2>${body}</section>`;
}
