// The entry point of the stand-in containers of the Compose stack test (compiled into their
// images): `smtp`, `gotify` or `grafana`. Each listens on all addresses of its container and
// prints one JSON line per event, which the test reads with `docker logs`.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startGotify } from '../gotify.js';
import { startSmtpServer } from '../smtp.js';
import { startGrafanaStandIn } from './grafana-standin.js';

const env = process.env;
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const secret = (file: string | undefined) => (file ? readFileSync(file, 'utf8').trim() : undefined);

async function main(role: string | undefined): Promise<void> {
  if (role === 'smtp') {
    await startSmtpServer({
      host: '0.0.0.0',
      port: Number(env.SMTP_PORT ?? 587),
      username: env.SMTP_USERNAME,
      password: secret(env.SMTP_PASSWORD_FILE),
      tls: { keyFile: env.SMTP_TLS_KEY ?? '', certFile: env.SMTP_TLS_CERT ?? '' },
      onMessage: ({ auth, ...message }) =>
        say({ event: 'message', message: { ...message, authUser: auth?.username } }),
    });
  } else if (role === 'gotify') {
    // Gotify's first user, `admin`, gets this password, else admin. It has no application yet:
    // the user creates one (POST /application) and gives its token to the exporter.
    const password =
      secret(env.GOTIFY_DEFAULTUSER_PASS_FILE) ?? env.GOTIFY_DEFAULTUSER_PASS ?? 'admin';
    await startGotify(`unused-${randomBytes(16).toString('hex')}`, {
      host: '0.0.0.0',
      port: Number(env.GOTIFY_SERVER_PORT ?? 80),
      adminPassword: password,
      onMessage: (message) => say({ event: 'message', message }),
    });
    say({ event: 'started', adminPassword: password === 'admin' ? 'default' : 'set' });
    return;
  } else if (role === 'grafana') {
    say({ event: 'started', ...startGrafanaStandIn(env, 3000) });
    return;
  } else {
    throw new Error(`unknown stand-in ${role}: smtp, gotify or grafana`);
  }
  say({ event: 'started' });
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
