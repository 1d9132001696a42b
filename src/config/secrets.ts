// Diun's *File keys (usernameFile, passwordFile, tokenFile), the bridges' webhookTokenFile and
// mqtt.passwordFile: the secret is read from a file, as Docker and Kubernetes secrets are
// mounted. Problems name the file, never its content.
import { readFileSync } from 'node:fs';
import { isMapping, isUnset } from './fields.js';
import { describeReadError, formatKeyPath, type Problem } from './problems.js';

const PAIRS = {
  regopt: [
    ['username', 'usernameFile'],
    ['password', 'passwordFile'],
  ],
  token: [['token', 'tokenFile']],
  gotify: [
    ['token', 'tokenFile'],
    ['webhookToken', 'webhookTokenFile'],
  ],
  ntfy: [
    ['token', 'tokenFile'],
    ['password', 'passwordFile'],
    ['webhookToken', 'webhookTokenFile'],
  ],
  mqtt: [['password', 'passwordFile']],
  alertmanager: [
    ['password', 'passwordFile'],
    ['token', 'tokenFile'],
  ],
} as const;

/** Reads every *File key into its plain key, in place; the *File key is removed. */
export function resolveSecretFiles(tree: Record<string, unknown>, problems: Problem[]): void {
  const regopts = tree.regopts;
  if (Array.isArray(regopts)) {
    regopts.forEach((regopt, index) => {
      readPairs(regopt, ['regopts', index], PAIRS.regopt, problems);
    });
  }
  const providers = tree.providers;
  if (isMapping(providers)) {
    readPairs(providers.kubernetes, ['providers', 'kubernetes'], PAIRS.token, problems);
  }
  readPairs(tree.metrics, ['metrics'], PAIRS.token, problems);
  readPairs(tree.gotify, ['gotify'], PAIRS.gotify, problems);
  readPairs(tree.ntfy, ['ntfy'], PAIRS.ntfy, problems);
  readPairs(tree.mqtt, ['mqtt'], PAIRS.mqtt, problems);
  readPairs(tree.alertmanager, ['alertmanager'], PAIRS.alertmanager, problems);
}

function readPairs(
  section: unknown,
  path: PropertyKey[],
  pairs: readonly (readonly [string, string])[],
  problems: Problem[],
): void {
  if (!isMapping(section)) return;
  for (const [plainKey, fileKey] of pairs) {
    const file = section[fileKey];
    if (file === null || file === '') delete section[fileKey]; // `${SECRET_FILE:-}`, unset
    // A wrong type, or both keys given, is the schema's to report.
    if (typeof file !== 'string' || file === '' || !isUnset(section[plainKey])) continue;
    try {
      const secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      // An empty secret file is a mount gone wrong; as no token it would open /metrics to all.
      if (secret.trim() === '') {
        problems.push({ key: formatKeyPath([...path, fileKey]), message: `"${file}" is empty` });
        continue;
      }
      section[plainKey] = secret;
      delete section[fileKey];
    } catch (error) {
      // The *File key stays, so a required secret is not also reported missing.
      problems.push({
        key: formatKeyPath([...path, fileKey]),
        message: `cannot read "${file}": ${describeReadError(error)}`,
      });
    }
  }
}
