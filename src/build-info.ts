import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The package version, read once from package.json beside dist/ or src/. */
export const version: string = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
).version;

/** The git commit the build came from: DIUN_EXPORTER_REVISION, else `git rev-parse`, else 'unknown'. */
export const revision: string = (() => {
  if (process.env.DIUN_EXPORTER_REVISION) return process.env.DIUN_EXPORTER_REVISION;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
})();
