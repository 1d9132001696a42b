import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import {
  acceptsConnections,
  freePort,
  requireBinary,
  run,
  stopWithProcess,
  terminate,
  waitFor,
} from './exec.js';

export interface Mosquitto {
  /** `mqtt://127.0.0.1:PORT` */
  url: string;
  user: string;
  password: string;
  log(): string;
  /** Stops the broker and starts it again on the same port: with no persistence, empty. */
  restart(): Promise<void>;
  /** Stops the broker process only; `start` brings it back on the same port, empty. */
  halt(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts Mosquitto on a free port of 127.0.0.1, with one user in a password file, no anonymous
 * access and no persistence (a restart loses every retained message), config in a temp folder.
 */
export async function startMosquitto(
  user = 'exporter',
  password = 'broker-secret',
): Promise<Mosquitto> {
  const binary = requireBinary('mosquitto', 'mosquitto');
  const passwd = requireBinary('mosquitto_passwd', 'mosquitto');
  const dir = await mkdtemp(join(tmpdir(), 'mosquitto-'));
  const port = await freePort();
  const passwordFile = join(dir, 'passwd');
  await run(passwd, ['-b', '-c', passwordFile, user, password]);
  const configFile = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');
  await writeFile(
    configFile,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      'persistence false',
      // As root, stay root: the files in the temp folder are root's.
      'user root',
      `log_dest file ${logFile}`,
      'log_type all',
      '',
    ].join('\n'),
  );
  const log = () => readFileSync(logFile, 'utf8');
  let child: ChildProcess;
  const launch = async () => {
    const fd = openSync(logFile, 'a');
    child = spawn(binary, ['-c', configFile], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    stopWithProcess(child, 'SIGKILL');
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`mosquitto exited early:\n${log().slice(-2000)}`);
        return acceptsConnections(port);
      },
      { timeoutMs: 15_000, what: `mosquitto to listen on 127.0.0.1:${port}` },
    );
  };
  await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    user,
    password,
    log,
    async restart() {
      await terminate(child);
      await launch();
    },
    halt: () => terminate(child),
    start: launch,
    async stop() {
      await terminate(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One message as a subscriber received it. */
export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A subscriber that records every message on `topics`, as Home Assistant would receive them. */
export interface Subscriber {
  messages: Received[];
  /** The last payload seen on `topic` (retained or live), or undefined. */
  last(topic: string): string | undefined;
  /** Publishes `payload` (not retained) as this subscriber. */
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** Connects as `broker`'s user and subscribes to `topics` (retained messages come first). */
export async function subscribe(broker: Mosquitto, topics: string[]): Promise<Subscriber> {
  const client: MqttClient = await mqtt.connectAsync(broker.url, {
    username: broker.user,
    password: broker.password,
    reconnectPeriod: 0,
  });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), retain: packet.retain });
  });
  await client.subscribeAsync(topics, { qos: 1 });
  return {
    messages,
    last: (topic) => messages.findLast((m) => m.topic === topic)?.payload,
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    close: () => client.endAsync(),
  };
}
