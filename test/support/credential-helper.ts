/**
 * A Docker credential helper for tests, speaking the helper protocol (`get`: server URL on
 * stdin, `{"ServerURL","Username","Secret"}` on stdout, or "credentials not found in native
 * keychain" and exit 1). It answers from a JSON file the test rewrites, as a real helper's
 * backing store (ECR's token cache) changes, and logs every server it was asked about.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCredentialHelper {
  /** The folder holding `docker-credential-<name>`: put it first on PATH. */
  dir: string;
  /** What the helper answers for `serverUrl` from now on; undefined: not found. */
  set(serverUrl: string, creds: { username: string; secret: string } | undefined): void;
  /** The server URLs it was asked about, in order. */
  calls(): string[];
}

/** Writes `docker-credential-<name>` (a node script) into `dir`. */
export function writeCredentialHelper(dir: string, name: string): TestCredentialHelper {
  const store = join(dir, `${name}-store.json`);
  const log = join(dir, `${name}-calls.log`);
  writeFileSync(store, '{}');
  const script = `#!${process.execPath}
const fs = require('node:fs');
if (process.argv[2] !== 'get') { process.stdout.write('unknown action'); process.exit(1); }
const server = fs.readFileSync(0, 'utf8').trim();
fs.appendFileSync(${JSON.stringify(log)}, server + '\\n');
const creds = JSON.parse(fs.readFileSync(${JSON.stringify(store)}, 'utf8'))[server];
if (!creds) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
process.stdout.write(JSON.stringify({ ServerURL: server, Username: creds.username, Secret: creds.secret }));
`;
  const program = join(dir, `docker-credential-${name}`);
  writeFileSync(program, script);
  chmodSync(program, 0o755);
  return {
    dir,
    set(serverUrl, creds) {
      const all = JSON.parse(readFileSync(store, 'utf8')) as Record<string, unknown>;
      if (creds) all[serverUrl] = creds;
      else delete all[serverUrl];
      writeFileSync(store, JSON.stringify(all));
    },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}
