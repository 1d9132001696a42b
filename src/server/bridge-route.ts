// POST /api/v1/alertmanager/gotify and /ntfy: Alertmanager's webhook into the push bridge
// (notify/bridge.ts). A 502 when any message could not be delivered makes Alertmanager send the
// whole group again later. When the channel's messages for the minute are spent, a 503 with
// Retry-After makes it try again shortly (a webhook then always fits, folded if need be): not a
// 429, which Alertmanager's webhook notifier counts as a failure for good and never retries.
// `?per=group` makes one message of the whole webhook (an Alertmanager group), as its email does;
// without it (or `?per=alert`) each alert is one message.
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { humanMessage, issueProblems } from '../config/problems.js';
import {
  type AlertmanagerWebhook,
  AlertmanagerWebhookSchema,
  type DeliverySummary,
  MESSAGES_PER,
  type MessagesPer,
} from '../notify/bridge.js';
import { requireBearer } from './auth.js';

// A webhook of a few hundred alerts is well under this; Alertmanager truncates larger groups.
const BODY_LIMIT = '1mb';

/** How a bridge route delivers a valid webhook. */
export type DeliverWebhook = (
  webhook: AlertmanagerWebhook,
  per: MessagesPer,
) => Promise<DeliverySummary>;

/** The handlers of a bridge route: Bearer check, JSON, validation, delivery. */
export function bridgeRoute(
  webhookToken: string,
  deliver: DeliverWebhook,
): (RequestHandler | ErrorRequestHandler)[] {
  const deliverAll: RequestHandler = async (req, res) => {
    const per = req.query.per ?? 'alert';
    if (!MESSAGES_PER.includes(per as MessagesPer)) {
      res.status(400).json({ error: `per: expected ${MESSAGES_PER.join(' or ')}` });
      return;
    }
    const parsed = AlertmanagerWebhookSchema.safeParse(req.body, { error: humanMessage });
    if (!parsed.success) {
      const problems = issueProblems(parsed.error.issues).map((p) => `${p.key}: ${p.message}`);
      res.status(400).json({ error: 'not an Alertmanager webhook (version 4) body', problems });
      return;
    }
    const { retryAfterSeconds, ...summary } = await deliver(parsed.data, per as MessagesPer);
    if (retryAfterSeconds !== undefined) {
      res.status(503).set('Retry-After', String(retryAfterSeconds));
      res.json({ ...summary, error: 'too many messages this minute: try again later' });
      return;
    }
    res.status(summary.failed === 0 ? 200 : 502).json(summary);
  };
  const badBody: ErrorRequestHandler = (err, _req, res, next) => {
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.parse.failed') res.status(400).json({ error: 'body is not valid JSON' });
    else if (type === 'entity.too.large') res.status(413).json({ error: 'body too large' });
    else next(err);
  };
  return [
    requireBearer(webhookToken),
    // Alertmanager sends application/json; the body is read as JSON whatever the header says.
    express.json({ limit: BODY_LIMIT, type: () => true }),
    deliverAll,
    badBody,
  ];
}

/** The answer of a bridge route while its section (`gotify`, `ntfy`) is not set. */
export function bridgeNotConfigured(section: string, service: string): RequestHandler {
  return (_req, res) => {
    res.status(404).json({
      error: `the ${section} section is not set in the configuration: the Alertmanager to ${service} bridge is off`,
    });
  };
}
