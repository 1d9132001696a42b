#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { version } from './build-info.js';
import {
  AlertTestError,
  alertmanagerUrl,
  DEFAULT_ALERTMANAGER_URL,
  sendTestAlert,
  testAlert,
} from './cli/alert-test.js';
import { renderCheckTable } from './cli/check-table.js';
import { colourEnabled, painter } from './cli/colour.js';
import { createProgress } from './cli/progress.js';
import { ConfigError, type LoadedConfig, loadConfig, resolveConfigPath } from './config/load.js';
import { createExporter, serve } from './exporter.js';
import { configureLog, log } from './log.js';
import { imageView, runView } from './view/images.js';

const usage = `diun-exporter ${version}: which running containers have newer images,
as Prometheus metrics

Usage: diun-exporter <command> [--config FILE]

Commands:
  serve               serve /metrics and the API, checking on the watch schedule
  check [--json] [--exit-code]
                      check once, print every watched image and container, exit
                      (--exit-code: exit 1 when an update is available)
  validate            check the configuration; list every problem by key path
  alert test [--alertmanager URL] [--severity LEVEL]
                      send a test alert to Alertmanager (POST /api/v2/alerts) to
                      try its routes and receivers; it resolves in 5 minutes.
                      URL: else $ALERTMANAGER_URL, else ${DEFAULT_ALERTMANAGER_URL}
                      LEVEL: warning by default (the shipped alertmanager.yml
                      sends that to both email and Gotify)

Options:
  --config FILE       Diun's diun.yml (else $DIUN_CONFIG, else config/diun.yml)
  -h, --help          this help
  -v, --version       the version
`;

function load(file: string | undefined): LoadedConfig {
  const loaded = loadConfig(resolveConfigPath(file, process.env));
  for (const w of loaded.warnings) log('warn', w);
  return loaded;
}

async function check(loaded: LoadedConfig, json: boolean): Promise<boolean> {
  // The state file is read for first-seen times but never written: a running `serve` owns it.
  const exporter = createExporter(loaded, { persist: false, publish: false });
  // Progress goes to stderr and never with --json, whose stdout a script reads.
  const progress = json ? undefined : createProgress(process.stderr);
  // Log lines go above the progress line rather than through it.
  if (progress) configureLog({ sink: progress.print });
  try {
    exporter.watcher.restore();
    const run = await exporter.watcher.run({ onProgress: progress?.update });
    progress?.clear();
    const snapshot = exporter.watcher.snapshot();
    if (json) {
      const body = { images: snapshot.images.map(imageView), lastRun: runView(run, snapshot) };
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    } else {
      const { stdout } = process;
      const table = renderCheckTable(snapshot, {
        // The terminal's width when there is one; 80 when piped or redirected.
        width: stdout.isTTY && stdout.columns ? stdout.columns : 80,
        paint: painter(colourEnabled(stdout, process.env)),
        durationSeconds: run.durationSeconds,
      });
      process.stdout.write(`${table}\n`);
    }
    for (const e of run.providerErrors) log('error', 'provider failed', { error: e });
    return snapshot.images.some((i) => i.record.updateAvailable);
  } finally {
    progress?.clear();
    await exporter.close();
  }
}

async function alertTest(url: string, severity: string): Promise<void> {
  const alert = testAlert(severity);
  await sendTestAlert(url, alert);
  const labels = Object.entries(alert.labels).map(([k, v]) => `${k}="${v}"`);
  process.stdout.write(
    `sent a test alert {${labels.join(', ')}} to Alertmanager at ${url}; ` +
      `it resolves by itself at ${alert.endsAt}\n`,
  );
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      'exit-code': { type: 'boolean', default: false },
      alertmanager: { type: 'string' },
      severity: { type: 'string', default: 'warning' },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'v', default: false },
    },
  });
  const command = positionals[0] ?? (values.help ? 'help' : values.version ? 'version' : 'serve');
  switch (command) {
    case 'help':
      process.stdout.write(usage);
      return 0;
    case 'version':
      process.stdout.write(`${version}\n`);
      return 0;
    case 'validate': {
      const loaded = load(values.config);
      process.stdout.write(`${loaded.file}: configuration is valid\n`);
      return 0;
    }
    case 'check': {
      const outdated = await check(load(values.config), values.json);
      return values['exit-code'] && outdated ? 1 : 0;
    }
    case 'alert': {
      if (positionals[1] !== 'test') {
        const sub = positionals[1]
          ? `unknown command "alert ${positionals[1]}"`
          : '"alert" needs a subcommand';
        process.stderr.write(`${sub}: try "alert test"\n\n${usage}`);
        return 2;
      }
      await alertTest(alertmanagerUrl(values.alertmanager, process.env), values.severity);
      return 0;
    }
    case 'serve':
      await serve(load(values.config));
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof AlertTestError) {
      process.stderr.write(`diun-exporter alert test: ${err.message}\n`);
    } else if (err instanceof ConfigError) {
      process.stderr.write(
        `invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`,
      );
    } else {
      process.stderr.write(`diun-exporter: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);
