import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertPipeline, startAlertPipeline } from '../support/alert-pipeline.js';
import { until } from '../support/alert-rig.js';
import { fileDockerd } from '../support/dockerd.js';
import { waitFor } from '../support/exec.js';
import { makeImage, publish, pushImage, runContainer } from '../support/images.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { type SmtpMessage, visibleText } from '../support/smtp.js';

// The quiet defaults of the shipped Alertmanager config, end to end: real dockerd, registry,
// exporter, Prometheus with the shipped rules and Alertmanager with the shipped
// alertmanager.gotify.yml and template. The routes group by [alertname, instance], so every
// outdated container of one exporter is one email and one Gotify message.
//
// Only hosts, paths and these intervals of the test's copies are changed (the rules, `for: 1m`
// included, are as shipped). repeat_interval stays longer than the whole test, so any message
// after the second would be one the grouping should not have sent.
const timing = {
  // shipped: group_wait 30s, group_interval 2m, repeat_interval 168h. group_wait still covers
  // a run boundary between the five pushes (checks every 5 s, scrape and evaluation every 2 s).
  alertmanager: { group_wait: '15s', group_interval: '15s', repeat_interval: '10m' },
  // shipped: 15s, 15s, 10s
  prometheus: { scrape_interval: '2s', evaluation_interval: '2s', scrape_timeout: '2s' },
};
const groupIntervalMs = 15_000;
const summary = "A running container's image has a newer digest in its registry";

// A dockerd of this file's own: files run in parallel, and none sees another's containers.
const dockerd = fileDockerd();

describe('end to end: the updates found in one run are one email and one Gotify message', () => {
  const docker = dockerd.docker;
  const suffix = randomUUID().slice(0, 8);
  // Six compose services on their own images; 1 to 5 move together, 6 later.
  const apps = [1, 2, 3, 4, 5, 6].map((i) => ({
    container: `quiet-app${i}-${suffix}`,
    service: `app${i}`,
    command: `docker compose -p quiet pull app${i} && docker compose -p quiet up -d app${i}`,
    image: '',
  }));
  const [first5, sixth] = [apps.slice(0, 5), apps[5]!];
  let dir: string;
  let registry: Registry;
  let pipeline: AlertPipeline;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-grouped-'));
    registry = await startRegistry();
    for (const [i, app] of apps.entries()) {
      app.image = `${registry.host}/quiet/app${i + 1}:1.${i + 1}`;
      await publish(docker, app.image, `v1 ${app.container}`);
      await runContainer(docker, app.image, app.container, {
        'com.docker.compose.project': 'quiet',
        'com.docker.compose.service': app.service,
      });
    }
    pipeline = await startAlertPipeline(dir, dockerd.host, timing);
  });

  afterAll(async () => {
    await pipeline?.stop();
    await docker(['rm', '-f', ...apps.map((a) => a.container)]).catch(() => undefined);
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const emails = () => pipeline.smtp.messages();
  const pushes = () => pipeline.gotify.messages;
  const visible = (m: SmtpMessage) => visibleText(m.html ?? m.text ?? '');
  const promSees = (expr: string, what: string, timeoutMs = 60_000) =>
    waitFor(async () => ((await pipeline.prometheus.query(expr)).length > 0 ? true : undefined), {
      timeoutMs,
      intervalMs: 500,
      what,
    });
  const firing = async () =>
    (await pipeline.prometheus.alerts())
      .filter((a) => a.labels.alertname === 'DiunContainerUpdateAvailable' && a.state === 'firing')
      .map((a) => a.labels.container)
      .sort();
  const move = async (moved: typeof apps) => {
    for (const app of moved) await makeImage(docker, app.image, { variant: `v2 ${app.container}` });
    await Promise.all(moved.map((app) => pushImage(docker, app.image)));
  };
  /** What the user reads: the table row of each listed container, and none of the others. */
  const expectListed = (mail: SmtpMessage, push: { message: string }, listed: typeof apps) => {
    const text = visible(mail);
    for (const app of apps) {
      const row = `${app.image} ${app.container} ${app.command}`;
      if (listed.includes(app)) {
        expect(text).toContain(row);
        expect(push.message).toContain(`Container \`${app.container}\``);
        expect(push.message).toContain(app.command);
      } else {
        expect(text).not.toContain(app.container);
        expect(push.message).not.toContain(app.container);
      }
    }
  };
  let startedAt = 0;

  it('sends one email and one Gotify message listing all five images moved in one run', async () => {
    await promSees(
      `count(diun_container_update_available{container=~"quiet-app.-${suffix}"} == 0) == 6`,
      'Prometheus to scrape the six containers as up to date',
    );
    startedAt = Date.now();
    await move(first5);
    const pushedAt = Date.now();

    const [mail] = await until('the update email', () => emails().length > 0 && emails(), 180_000);
    const mailAfter = (Date.now() - pushedAt) / 1000;
    const [push] = await until('the Gotify message', () => pushes().length > 0 && pushes(), 30_000);
    console.info(`five pushes -> email ${mailAfter.toFixed(1)} s`);

    expect(await firing()).toEqual(first5.map((a) => a.container).sort());
    expect(mail!.subject).toBe(`[FIRING:5] DiunContainerUpdateAvailable: ${summary}`);
    expect(visible(mail!)).toContain('5 firing. Image Container Update with');
    expect(push!.title).toBe(`${summary} (5 firing)`);
    expect(push!.priority).toBe(5);
    expectListed(mail!, push!, first5);
    expect(emails()).toHaveLength(1);
    expect(pushes()).toHaveLength(1);
  }, 240_000);

  it('sends the whole group once more, six images, when a sixth moves later', async () => {
    await move([sixth]);
    // The sixth alert is pending for its `for: 1m`; 45 s into it (at least three group
    // intervals after the first message) the first group has still gone out only once.
    await promSees(
      `time() - ALERTS_FOR_STATE{alertname="DiunContainerUpdateAvailable",container="${sixth.container}"} > 45`,
      'the sixth alert to be pending for 45 s',
      120_000,
    );
    expect(emails()).toHaveLength(1);
    expect(pushes()).toHaveLength(1);

    const mail = await until('the second email', () => emails()[1], 120_000);
    const push = await until('the second Gotify message', () => pushes()[1], 30_000);
    // Alertmanager sends the group as it is now, not the news alone: all six containers, the
    // five already sent among them, each with its command.
    expect(mail.subject).toBe(`[FIRING:6] DiunContainerUpdateAvailable: ${summary}`);
    expect(visible(mail)).toContain('6 firing. Image Container Update with');
    expect(push.title).toBe(`${summary} (6 firing)`);
    expectListed(mail, push, apps);
    expect(emails()).toHaveLength(2);
    expect(pushes()).toHaveLength(2);
  }, 240_000);

  it('sends nothing more while nothing changes', async () => {
    // Three group intervals: each flush finds the group unchanged, and the repeat is far off.
    await sleep(3 * groupIntervalMs);
    expect(await firing()).toEqual(apps.map((a) => a.container).sort());
    expect(emails()).toHaveLength(2);
    expect(pushes()).toHaveLength(2);
    console.info(
      `five moves to the end of the quiet window ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    );
  }, 60_000);
});
