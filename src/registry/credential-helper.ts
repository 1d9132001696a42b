/**
 * Docker's credential helper protocol, the `get` half: `docker-credential-NAME get` reads the
 * server URL on stdin and answers `{"ServerURL","Username","Secret"}` on stdout, or exits
 * non-zero saying `credentials not found in native keychain` when it has none. This is how ECR
 * (amazon-ecr-credential-helper), GCR/GAR (docker-credential-gcr, gcloud) and ACR hand out
 * their short-lived credentials.
 */
import { spawn } from 'node:child_process';

/** What a helper answered: credentials, or that it has none for the server. */
export type HelperAnswer = { username: string; secret: string } | undefined;

/** A helper that failed; the message names the helper, never what it printed on success. */
export class CredentialHelperError extends Error {
  override readonly name = 'CredentialHelperError';
}

const NOT_FOUND = 'credentials not found in native keychain';
// Output beyond this is not credentials; the helper is stopped rather than read on.
const MAX_OUTPUT = 64 * 1024;

/** Runs `docker-credential-<helper> get` for `serverUrl` within `timeoutMs`. */
export function getFromHelper(
  helper: string,
  serverUrl: string,
  opts: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<HelperAnswer> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => reject(new CredentialHelperError(`${program} get: ${why}`));
    if (!/^[A-Za-z0-9._-]+$/.test(helper)) return fail('not a helper name');
    const child = spawn(program, ['get'], {
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.stdin.on('error', () => {}); // a helper that exits before reading stdin
    child.stdin.end(serverUrl);
    child.on('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'ENOENT' ? 'not found on PATH' : (e.code ?? e.message)),
    );
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (signal) {
        return fail(size > MAX_OUTPUT ? 'too much output' : `no answer within ${opts.timeoutMs}ms`);
      }
      if (code !== 0) {
        // Helpers say "not found" on stdout (the protocol) or stderr (some wrappers).
        const said = `${stdout}\n${Buffer.concat(err).toString('utf8')}`.trim();
        if (said.includes(NOT_FOUND)) return resolve(undefined);
        return fail(`exit code ${code}${said ? `: ${firstLine(said)}` : ''}`);
      }
      resolve(readAnswer(stdout, fail));
    });
  });
}

function readAnswer(stdout: string, fail: (why: string) => void): HelperAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    // Not echoed: the text could be a secret in a format we do not know.
    fail('the answer is not JSON');
    return undefined;
  }
  const fields: Record<string, unknown> =
    typeof parsed === 'object' && parsed !== null ? { ...parsed } : {};
  const { Username: username, Secret: secret } = fields;
  if (typeof username !== 'string' || typeof secret !== 'string' || secret === '') {
    fail('the answer has no Username and Secret');
    return undefined;
  }
  return { username, secret };
}

// A helper's error is one line in a log; capped so a runaway helper cannot flood it.
function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
