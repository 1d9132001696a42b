import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFiles } from '../../support/config-files.js';

const dir = mkdtempSync(join(tmpdir(), 'diun-exporter-mqtt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'mqtt-pa55word';
const passwordFile = join(dir, 'password');
const caFile = join(dir, 'ca.pem');
writeFileSync(passwordFile, `${PASSWORD}\n`);
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n');

const { load, problemsOf } = configFiles(dir);

describe('mqtt section', () => {
  it('is off when absent', () => {
    expect(load('watch:\n  workers: 2\n').config.mqtt).toBeUndefined();
  });

  it('takes its defaults: homeassistant, diun-exporter, qos 1, no login', () => {
    expect(load('mqtt:\n  url: mqtt://mosquitto:1883\n').config.mqtt).toEqual({
      url: 'mqtt://mosquitto:1883',
      discoveryPrefix: 'homeassistant',
      topicPrefix: 'diun-exporter',
      qos: 1,
    });
  });

  it('reads passwordFile, and takes mqtts:// with a CA file and nested prefixes', () => {
    const { config } = load(`
mqtt:
  url: mqtts://broker.example.org:8883
  username: diun
  passwordFile: ${passwordFile}
  clientId: diun-exporter-1
  discoveryPrefix: ha/discovery
  topicPrefix: lab/diun
  qos: 2
  caFile: ${caFile}
`);
    expect(config.mqtt).toEqual({
      url: 'mqtts://broker.example.org:8883',
      username: 'diun',
      password: PASSWORD,
      clientId: 'diun-exporter-1',
      discoveryPrefix: 'ha/discovery',
      topicPrefix: 'lab/diun',
      qos: 2,
      caFile,
    });
  });

  it('is set entirely from DIUN_MQTT_* variables', () => {
    const { config } = load('mqtt:\n', {
      DIUN_MQTT_URL: 'mqtt://10.0.0.2:1883',
      DIUN_MQTT_USERNAME: 'diun',
      DIUN_MQTT_PASSWORDFILE: passwordFile,
      DIUN_MQTT_QOS: '0',
      DIUN_MQTT_TOPICPREFIX: 'diun2',
    });
    expect(config.mqtt).toMatchObject({
      url: 'mqtt://10.0.0.2:1883',
      username: 'diun',
      password: PASSWORD,
      qos: 0,
      topicPrefix: 'diun2',
    });
  });
});

const URL_PROBLEM =
  'mqtt.url: expected mqtt://host:port or mqtts://host:port (user and password go in mqtt.username and mqtt.password)';
const PREFIX_PROBLEM = 'expected topic levels without +, #, spaces, or a leading or trailing /';

// [what, file, every problem reported]
const BAD: [string, string, string[]][] = [
  [
    'an empty section',
    'mqtt:\n',
    ['mqtt.url: required: the broker\'s URL, e.g. "mqtt://mosquitto:1883"'],
  ],
  ['an http URL', 'mqtt:\n  url: http://broker:1883\n', [URL_PROBLEM]],
  ['credentials in the URL', 'mqtt:\n  url: mqtt://u:secret@broker:1883\n', [URL_PROBLEM]],
  ['a path in the URL', 'mqtt:\n  url: mqtt://broker:1883/x\n', [URL_PROBLEM]],
  [
    'a password without user',
    'mqtt:\n  url: mqtt://b\n  password: p\n',
    ['mqtt.username: required with password'],
  ],
  [
    'password and passwordFile',
    `mqtt:\n  url: mqtt://b\n  username: u\n  password: p\n  passwordFile: ${passwordFile}\n`,
    ['mqtt.passwordFile: cannot be used together with password'],
  ],
  ['qos 3', 'mqtt:\n  url: mqtt://b\n  qos: 3\n', ['mqtt.qos: expected 0, 1 or 2']],
  [
    'a wildcard prefix',
    'mqtt:\n  url: mqtt://b\n  topicPrefix: diun/#\n',
    [`mqtt.topicPrefix: ${PREFIX_PROBLEM}`],
  ],
  [
    'a prefix with a trailing slash',
    'mqtt:\n  url: mqtt://b\n  discoveryPrefix: homeassistant/\n',
    [`mqtt.discoveryPrefix: ${PREFIX_PROBLEM}`],
  ],
  [
    'a CA file on a plain connection',
    `mqtt:\n  url: mqtt://b\n  caFile: ${caFile}\n`,
    ['mqtt.caFile: only used with an mqtts:// url'],
  ],
  [
    'a CA file that is not there',
    `mqtt:\n  url: mqtts://b\n  caFile: ${join(dir, 'missing.pem')}\n`,
    [`mqtt.caFile: cannot read "${join(dir, 'missing.pem')}": no such file (ENOENT)`],
  ],
  ['an unknown key', 'mqtt:\n  url: mqtt://b\n  retain: false\n', ['mqtt.retain: unknown key']],
];

describe('mqtt section problems', () => {
  it.each(BAD)('%s', (_what, yaml, expected) => {
    expect(problemsOf(yaml)).toEqual(expected);
  });

  it('names the variable behind a bad value, and never quotes a URL', () => {
    const problems = problemsOf('mqtt:\n', {
      DIUN_MQTT_URL: 'mqtt://u:hunter2@b',
      DIUN_MQTT_QOS: '5',
    });
    expect(problems).toEqual([
      `${URL_PROBLEM} (from DIUN_MQTT_URL)`,
      'mqtt.qos: expected 0, 1 or 2 (from DIUN_MQTT_QOS)',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
