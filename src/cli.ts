#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { renderCheckTable } from './cli/check-table.js';
import { ConfigError, type LoadedConfig, loadConfig, resolveConfigPath } from './config/load.js';
import { createExporter, serve } from './exporter.js';
import { log } from './log.js';
import { imageView, runView } from './server/images-api.js';
import { version } from './version.js';

const usage = `diun-exporter ${version}: which running containers have newer images, as Prometheus metrics

Usage: diun-exporter <command> [--config FILE]

Commands:
  serve                      serve /metrics and the API, checking on the watch schedule
  check [--json] [--exit-code]
                             check once, print every watched image and container, exit
                             (--exit-code: exit 1 when an update is available)
  validate                   check the configuration; list every problem by key path

Options:
  --config FILE              Diun's diun.yml (default: $DIUN_CONFIG, else config/diun.yml)
  -h, --help                 this help
  -v, --version              the version
`;

function load(file: string | undefined): LoadedConfig {
  const loaded = loadConfig(resolveConfigPath(file, process.env));
  for (const w of loaded.warnings) log('warn', w);
  return loaded;
}

async function check(loaded: LoadedConfig, json: boolean): Promise<boolean> {
  // The state file is read for first-seen times but never written: a running `serve` owns it.
  const exporter = createExporter(loaded, { persist: false });
  try {
    exporter.watcher.restore();
    const run = await exporter.watcher.run();
    const snapshot = exporter.watcher.snapshot();
    if (json) {
      const body = { images: snapshot.images.map(imageView), lastRun: runView(run, snapshot) };
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    } else process.stdout.write(`${renderCheckTable(snapshot)}\n`);
    for (const e of run.providerErrors) log('error', 'provider failed', { error: e });
    return snapshot.images.some((i) => i.record.updateAvailable);
  } finally {
    await exporter.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      'exit-code': { type: 'boolean', default: false },
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
    if (err instanceof ConfigError) {
      process.stderr.write(
        `invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`,
      );
    } else {
      process.stderr.write(`diun-exporter: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);
