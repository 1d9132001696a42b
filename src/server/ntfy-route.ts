// POST /api/v1/alertmanager/ntfy: Alertmanager's webhook into the ntfy bridge (notify/ntfy.ts),
// one message per alert, or per webhook with `?per=group`, as the Gotify route.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MessageBudget } from '../notify/budget.js';
import { deliverToNtfy, type NtfyBridge } from '../notify/ntfy.js';
import { bridgeNotConfigured, bridgeRoute } from './bridge-route.js';

/** The handlers of POST /api/v1/alertmanager/ntfy: Bearer check, JSON, validation, delivery. */
export function ntfyRoute(bridge: NtfyBridge): (RequestHandler | ErrorRequestHandler)[] {
  const budget = new MessageBudget(bridge.config.maxMessagesPerMinute);
  return bridgeRoute(bridge.config.webhookToken, (webhook, per) =>
    deliverToNtfy(webhook, bridge, per, budget),
  );
}

/** The answer of the route when the ntfy section is not set. */
export const ntfyNotConfigured = bridgeNotConfigured('ntfy', 'ntfy');
