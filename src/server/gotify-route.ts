// POST /api/v1/alertmanager/gotify: Alertmanager's webhook into the Gotify bridge (notify/gotify.ts).
// `?per=group` makes one message of the whole webhook (an Alertmanager group), as its email does;
// without it (or `?per=alert`) each alert is one message.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MessageBudget } from '../notify/budget.js';
import { deliverAlerts, type GotifyBridge } from '../notify/gotify.js';
import { bridgeNotConfigured, bridgeRoute } from './bridge-route.js';

/** The handlers of POST /api/v1/alertmanager/gotify: Bearer check, JSON, validation, delivery. */
export function gotifyRoute(bridge: GotifyBridge): (RequestHandler | ErrorRequestHandler)[] {
  const budget = new MessageBudget(bridge.config.maxMessagesPerMinute);
  return bridgeRoute(bridge.config.webhookToken, (webhook, per) =>
    deliverAlerts(webhook, bridge, per, budget),
  );
}

/** The answer of the route when the bridge is off. */
export const gotifyNotConfigured = bridgeNotConfigured('gotify', 'Gotify');
