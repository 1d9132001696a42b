// `npm test`: real services, then the type check and lint beside the build and every vitest test;
// extra args go to vitest.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

// Program -> the Debian package that ships it; the service tests run these real programs, not
// stand-ins. The same list is what the tests' global setup requires.
const services = Object.fromEntries(
  Object.entries(
    JSON.parse(readFileSync(new URL('../test/support/services.json', import.meta.url), 'utf8')),
  ).map(([program, { package: debianPackage }]) => [program, debianPackage]),
);

function onPath(name) {
  // dockerd lives in /usr/sbin, which some root shells leave off PATH.
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function sh(cmd, args, env = process.env) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { stdio: 'inherit', env }).status === 0;
}

function ensureServices() {
  const missing = () => Object.keys(services).filter((name) => !onPath(name));
  if (missing().length === 0) return true;
  if (process.getuid?.() !== 0) {
    const pkgs = [...new Set(missing().map((name) => services[name]))].join(' ');
    console.error(`missing ${missing().join(', ')}: as root, apt-get install -y ${pkgs}`);
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Only the packages of missing programs: a machine's own kubectl package, for one, would
  // refuse kubernetes-client beside it.
  const packages = [...new Set(missing().map((name) => services[name]))];
  const installed =
    sh('apt-get', ['update'], env) && sh('apt-get', ['install', '-y', ...packages], env);
  if (installed && missing().length === 0) return true;
  console.error(`still missing after apt-get install: ${missing().join(', ') || '(none)'}`);
  return false;
}

// A report left by an earlier run must not be read as this run's result.
rmSync('reports/vitest.json', { force: true });

if (!ensureServices()) {
  console.error('\nnpm test: FAILED at step "install services"');
  process.exit(1);
}

// Every step runs even after a failure, so one run shows every problem. The type check and the
// lint need nothing from the others: they run beside the build and the tests, their output
// kept in a file and printed when they end, so it does not interleave with the tests' report.
const vitest = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  '--outputFile=reports/vitest.json',
  ...process.argv.slice(2),
];
const checks = [
  ['type check', ['tsc', '--noEmit', '-p', 'tsconfig.json']],
  ['lint', ['biome', 'check', 'src', 'test', 'scripts']],
].map(([name, args]) => beside(name, args));
// The end-to-end tests run the built CLI (`node dist/cli.js serve`), as a user does.
const built = await shAsync('npx', ['tsc', '-p', 'tsconfig.build.json']);
const tested = await shAsync('npx', vitest);
const failed = [
  ...(await Promise.all(checks)).filter(([, ok]) => !ok).map(([name]) => name),
  ...(built ? [] : ['build']),
  ...(tested ? [] : ['tests']),
];

if (failed.length > 0) {
  console.error(`\nnpm test: FAILED at step(s): ${failed.join(', ')}`);
  process.exit(1);
}
console.log('\nnpm test: type check, lint and tests passed');

/** Runs `npx ARGS` with its output inherited; resolves to whether it exited 0. */
function shAsync(cmd, args) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/** Runs `npx ARGS` in the background, its output in a file printed once it ends: [name, ok]. */
function beside(name, args) {
  const dir = mkdtempSync(join(tmpdir(), 'npm-test-'));
  const outPath = join(dir, 'out.txt');
  const out = openSync(outPath, 'w');
  const child = spawn('npx', args, { stdio: ['ignore', out, out] });
  closeSync(out);
  return new Promise((resolve) => {
    const done = (ok) => {
      console.log(`\n$ npx ${args.join(' ')}  (${name}, run beside the tests)`);
      process.stdout.write(readFileSync(outPath, 'utf8'));
      rmSync(dir, { recursive: true, force: true });
      resolve([name, ok]);
    };
    child.on('error', () => done(false));
    child.on('close', (code) => done(code === 0));
  });
}
