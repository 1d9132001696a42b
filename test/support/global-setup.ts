import { readFileSync } from 'node:fs';
import { requireBinary } from './exec.js';

// The programs the service tests need, and the Debian package of each (scripts/test.mjs
// installs the missing ones from the same list).
const services = JSON.parse(
  readFileSync(new URL('./services.json', import.meta.url), 'utf8'),
) as Record<string, { package: string; for: string }>;

/**
 * Checks, before any service test runs, that every program they start is installed: a missing
 * one fails the run with the package to install, and nothing is skipped. Each test file starts
 * the daemons it uses itself (a dockerd of its own with `fileDockerd`), so files run in parallel.
 */
export default function setup(): void {
  for (const [program, { package: debianPackage }] of Object.entries(services)) {
    requireBinary(program, debianPackage);
  }
}
