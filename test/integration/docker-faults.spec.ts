import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dockerd, startDockerd } from '../support/dockerd.js';
import { waitFor } from '../support/exec.js';
import { type ExporterProcess, startDockerExporter, startExporter } from '../support/exporter.js';
import { publish, runContainer } from '../support/images.js';
import { type LatencyProxy, startLatencyProxy } from '../support/latency-proxy.js';
import { find, type Sample, value } from '../support/metrics-text.js';
import { type Registry, startRegistry } from '../support/registry.js';
import { type SocketProxy, startSocketProxy } from '../support/socket-proxy.js';
import { suiteTeardown } from '../support/teardown.js';

// Docker faults on a dockerd of this file's own (the shared one serves the other files): the
// daemon stopped between and during runs, the events stream cut, a container removed mid-run,
// and a socket proxy answering 403. The exporter keeps serving, diun_provider_up tells the
// truth, and it recovers by itself. Figures go to the test output for docs/reliability.md.
describe('docker faults', () => {
  const suffix = randomUUID().slice(0, 8);
  const names = {
    kept: `kept-${suffix}`, // restart=always: back with the daemon
    once: `once-${suffix}`, // stays exited after a daemon restart
    late: `late-${suffix}`,
    moved: `moved-${suffix}`,
    other: `other-${suffix}`,
  };
  const stops = suiteTeardown();
  let dockerd: Dockerd;
  let registry: Registry;
  let latency: LatencyProxy;
  let images: { a: string; b: string; moved: string };
  const local = { provider: 'docker', endpoint: 'local' };
  const container = (name: string) => ({ provider: 'docker', container: name });
  const has = (s: Sample[], name: string) =>
    find(s, 'diun_container_update_available', container(name)).length === 1;
  const figure = (what: string, ms: number) =>
    console.log(`[docker-faults] ${what}: ${(ms / 1000).toFixed(1)} s`);
  const said = (what: string, text: string) => console.log(`[docker-faults] ${what}: ${text}`);

  beforeAll(async () => {
    dockerd = stops.add(await startDockerd(), (d) => d.cleanup());
    registry = stops.add(await startRegistry(), (r) => r.stop());
    latency = stops.add(await startLatencyProxy(registry.host), (l) => l.close());
    images = {
      a: `${latency.host}/faults/a:1.0`,
      b: `${latency.host}/faults/b:1.0`,
      moved: `${latency.host}/faults/moved:1.0`,
    };
    await publish(dockerd.docker, images.a, `a ${suffix}`);
    await publish(dockerd.docker, images.b, `b ${suffix}`);
    await runContainer(dockerd.docker, images.a, names.kept, {}, { restart: 'always' });
    await runContainer(dockerd.docker, images.b, names.once);
  });

  describe('on the daemon socket', () => {
    const stops = suiteTeardown();
    let exporter: ExporterProcess;

    beforeAll(async () => {
      exporter = stops.add(await startDockerExporter(dockerd.host), (e) => e.stop());
    });

    it('keeps serving the last picture while the daemon is down, and comes back by itself', async () => {
      let s = await exporter.until(
        (s) =>
          has(s, names.kept) && has(s, names.once) && value(s, 'diun_provider_up', local) === 1,
        'the first run to report both containers',
      );
      const lastSuccess = value(s, 'diun_watch_last_success_timestamp_seconds');
      expect(lastSuccess).toBeGreaterThan(0);

      // A crash (SIGKILL): the containers keep running with nobody to ask about them.
      const stopped = Date.now();
      await dockerd.kill();
      s = await exporter.until(
        (s) => value(s, 'diun_provider_up', local) === 0,
        'diun_provider_up to fall to 0 with the daemon killed',
        10_000,
      );
      figure('daemon killed -> provider_up 0', Date.now() - stopped);
      // The last known containers stay, and so does serving.
      expect(value(s, 'diun_container_update_available', container(names.kept))).toBe(0);
      expect(value(s, 'diun_container_update_available', container(names.once))).toBe(0);
      expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
      expect(exporter.output()).toMatch(/msg="docker endpoint down" endpoint=local/);

      // A run during the outage ends, checks the kept containers' images and names the error.
      const started = Date.now();
      const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      figure('check run during the outage', Date.now() - started);
      expect(res.status).toBe(200);
      const summary = (await res.json()) as { providerErrors: string[]; images: object };
      expect(summary.providerErrors).toHaveLength(1);
      said('provider error', summary.providerErrors[0]!);
      expect(summary.providerErrors[0]).toMatch(/^docker\/local: containers list: connect /);
      s = await exporter.scrape();
      expect(value(s, 'diun_watch_last_success_timestamp_seconds')).toBe(lastSuccess);
      expect(value(s, 'diun_watch_last_run_timestamp_seconds')).toBeGreaterThan(lastSuccess!);
      expect(
        value(s, 'diun_image_last_check_status', { image: images.a, status: 'unchange' }),
      ).toBe(1);

      // Down long enough for the events stream to back off twice (1 s, then 2 s).
      const attempts = () => exporter.output().match(/msg="following docker events"/g)!.length;
      const tries = attempts();
      await waitFor(() => attempts() >= tries + 2, {
        what: 'two reconnection attempts',
        timeoutMs: 10_000,
      });
      await dockerd.restart();
      const restarted = Date.now();
      figure('outage (kill to daemon answering)', restarted - stopped);
      s = await exporter.until(
        (s) => value(s, 'diun_provider_up', local) === 1,
        'diun_provider_up to return to 1 with the daemon back',
        40_000,
      );
      figure('daemon answering again -> provider_up 1', Date.now() - restarted);
      // The daemon's containers now: restart=always came back, the other one stayed exited.
      s = await exporter.until(
        (s) => has(s, names.kept) && !has(s, names.once),
        'the series to follow the restarted daemon',
        10_000,
      );
      expect(find(s, 'diun_image_info', { image: images.b })).toHaveLength(0);
      // Up at start-up, then up again after the restart.
      expect(exporter.output().match(/msg="docker endpoint up" endpoint=local/g)).toHaveLength(2);
    });

    it('ends a run during which the daemon stops, within its bound', async () => {
      await dockerd.docker(['start', names.once]);
      await exporter.until((s) => has(s, names.once), `${names.once} to be seen again`, 10_000);
      // Two registry requests per image at 1.5 s each keep the run going while the daemon stops.
      latency.delayMs = 1500;
      const seen = latency.seen.length;
      const started = Date.now();
      const check = fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      await waitFor(() => latency.seen.length > seen, {
        what: 'the run to reach the registry',
        timeoutMs: 10_000,
      });
      await dockerd.stop();
      const res = await check;
      figure('run with the daemon stopped during it', Date.now() - started);
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(30_000);
      // A graceful stop stops the containers first; whether the exporter lists that before the
      // socket closes is a race, so only the endpoint's state is asserted here.
      const down = await exporter.until(
        (s) => value(s, 'diun_provider_up', local) === 0,
        'diun_provider_up to fall to 0 after the run',
        10_000,
      );
      said(
        'containers kept after the graceful stop',
        `${has(down, names.kept)} ${has(down, names.once)}`,
      );
      expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);

      latency.delayMs = 0;
      await dockerd.restart();
      const restarted = Date.now();
      await exporter.until(
        (s) =>
          value(s, 'diun_provider_up', local) === 1 && has(s, names.kept) && !has(s, names.once),
        'diun_provider_up to return to 1 after the second restart',
        40_000,
      );
      figure('second restart -> provider_up 1', Date.now() - restarted);
    });
  });

  describe('behind a socket proxy', () => {
    const stops = suiteTeardown();
    let proxy: SocketProxy;
    let exporter: ExporterProcess;

    beforeAll(async () => {
      proxy = stops.add(await startSocketProxy(dockerd.host), (p) => p.close());
      exporter = stops.add(await startDockerExporter(proxy.endpoint), (e) => e.stop());
      await exporter.until(
        (s) => has(s, names.kept) && value(s, 'diun_provider_up', local) === 1,
        'the proxied exporter to report the running container',
      );
    });

    it('reconnects a cut events stream and sees a container started after the cut', async () => {
      const connects = () => proxy.allowed.filter((l) => /\/events(\?|$)/.test(l)).length;
      const before = connects();
      expect(proxy.cutEvents()).toBe(1);
      const cut = Date.now();
      await waitFor(() => connects() > before, {
        what: 'the exporter to open the events stream again',
        timeoutMs: 10_000,
      });
      figure('events stream cut -> reconnected', Date.now() - cut);
      const runs = value(await exporter.scrape(), 'diun_watch_runs_total');
      await runContainer(dockerd.docker, images.a, names.late);
      const started = Date.now();
      const s = await exporter.until(
        (s) => value(s, 'diun_container_update_available', container(names.late)) === 0,
        `${names.late}, started after the cut, to appear through the events stream`,
        10_000,
      );
      figure('container started after the cut -> series', Date.now() - started);
      expect(value(s, 'diun_watch_runs_total')).toBe(runs);
      expect(value(s, 'diun_provider_up', local)).toBe(1);
      expect(exporter.output()).toMatch(/msg="docker events stream lost"/);
    });

    it('drops a container removed between the listing and the inspects, and only that one', async () => {
      // `moved` runs v1, then v2 takes the tag: docker ps shows an id, so it is inspected.
      await publish(dockerd.docker, images.moved, `moved v1 ${suffix}`);
      await runContainer(dockerd.docker, images.moved, names.moved);
      const oldImage = (
        await dockerd.docker(['inspect', '--format', '{{.Image}}', names.moved])
      ).trim();
      await publish(dockerd.docker, images.moved, `moved v2 ${suffix}`);
      await runContainer(dockerd.docker, images.b, names.other);
      await exporter.until(
        (s) => has(s, names.moved) && has(s, names.other),
        'the moved and other containers to be seen',
        15_000,
      );

      proxy.hold = /\/(containers\/[\w.-]+|images\/[^?]+)\/json/;
      const check = fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      await waitFor(() => proxy.held > 0, {
        what: 'the run to list and inspect',
        timeoutMs: 10_000,
      });
      await dockerd.docker(['rm', '-f', names.moved]);
      await dockerd.docker(['rmi', '-f', oldImage]);
      proxy.release();
      const res = await check;
      expect(res.status).toBe(200);
      const summary = (await res.json()) as { providerErrors: string[] };
      expect(summary.providerErrors).toEqual([]);
      const s = await exporter.until(
        (s) => !has(s, names.moved),
        `the series of ${names.moved} to disappear`,
        10_000,
      );
      for (const name of [names.kept, names.late, names.other]) {
        expect(value(s, 'diun_container_update_available', container(name))).toBe(0);
      }
      expect(value(s, 'diun_provider_up', local)).toBe(1);
      expect(exporter.output()).not.toMatch(/level=(warn|error)[^\n]*(inspect|HTTP 404)/);
    });

    it('uses only the calls a read-only proxy allows, and names a 403 on images', async () => {
      expect(proxy.refused).toEqual([]);
      const allowed =
        /^GET (\/v[\d.]+)?\/(_ping|version|events|containers\/json|containers\/[\w.-]+\/json|images\/[^?]+\/json)(\?|$)/;
      expect(proxy.allowed.filter((l) => !allowed.test(l))).toEqual([]);

      // IMAGES=0 on docker-socket-proxy: every /images/ path answers HAProxy's 403 page.
      proxy.forbid = /\/images\//;
      const before = await exporter.scrape();
      const res = await fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      expect(res.status).toBe(200);
      const summary = (await res.json()) as { providerErrors: string[] };
      expect(summary.providerErrors).toHaveLength(1);
      said('provider error', summary.providerErrors[0]!);
      expect(summary.providerErrors[0]).toMatch(
        /^docker\/local: image inspect sha256:[0-9a-f]{12}: HTTP 403 Forbidden .*IMAGES=1/,
      );
      const s = await exporter.scrape();
      expect(value(s, 'diun_provider_up', local)).toBe(0);
      expect(value(s, 'diun_watch_last_success_timestamp_seconds')).toBe(
        value(before, 'diun_watch_last_success_timestamp_seconds'),
      );
      // The last known containers stay, none of them turned into a "locally built" skip.
      expect(value(s, 'diun_container_update_available', container(names.kept))).toBe(0);
      expect(value(s, 'diun_image_last_check_status', { image: images.a, status: 'skip' })).toBe(0);
      expect(exporter.output()).toMatch(/msg="docker endpoint down" endpoint=local error=".*403/);
      expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);
      const images_ = await (await fetch(`${exporter.url}/api/v1/images`)).json();
      expect(JSON.stringify(images_)).toMatch(/HTTP 403/);
      expect(proxy.refused.length).toBeGreaterThan(0);
      expect(proxy.refused.filter((l) => !/^GET (\/v[\d.]+)?\/images\//.test(l))).toEqual([]);

      // Allowed again: the next event brings it back up with no check triggered.
      proxy.forbid = undefined;
      await dockerd.docker(['rm', '-f', names.late]);
      await exporter.until(
        (s) => value(s, 'diun_provider_up', local) === 1 && !has(s, names.late),
        'the endpoint to come back up at the next event',
        10_000,
      );
    });

    it('marks the endpoint down with the error when the daemon stops during the listing', async () => {
      proxy.hold = /\/(containers\/[\w.-]+|images\/[^?]+)\/json/;
      const started = Date.now();
      const check = fetch(`${exporter.url}/api/v1/check`, { method: 'POST' });
      await waitFor(() => proxy.held > 0, {
        what: 'the run to list and inspect',
        timeoutMs: 10_000,
      });
      await dockerd.stop();
      proxy.release();
      const res = await check;
      figure('run with the daemon stopped during its listing', Date.now() - started);
      expect(res.status).toBe(200);
      const summary = (await res.json()) as { providerErrors: string[] };
      expect(summary.providerErrors).toHaveLength(1);
      said('provider error', summary.providerErrors[0]!);
      expect(summary.providerErrors[0]).toMatch(/^docker\/local: .*HTTP 502/);
      let s = await exporter.scrape();
      expect(value(s, 'diun_provider_up', local)).toBe(0);
      expect((await fetch(`${exporter.url}/-/healthy`)).status).toBe(200);

      await dockerd.restart();
      const restarted = Date.now();
      s = await exporter.until(
        (s) => value(s, 'diun_provider_up', local) === 1 && has(s, names.kept),
        'the proxied endpoint to come back after the restart',
        40_000,
      );
      figure('restart behind the proxy -> provider_up 1', Date.now() - restarted);
      expect(proxy.refused.filter((l) => !/^GET (\/v[\d.]+)?\/images\//.test(l))).toEqual([]);
    });
  });

  it('names the image of a stopped container that was force-removed (watchStopped)', async () => {
    const name = `orphan-${suffix}`;
    const image = `${latency.host}/faults/orphan:1.0`;
    await publish(dockerd.docker, image, `orphan ${suffix}`);
    await dockerd.docker(['create', '--name', name, image]);
    // Docker lets -f delete the image of a container that is not running.
    await dockerd.docker(['rmi', '-f', image]);
    const exporter = await startExporter({
      watch: { schedule: '', workers: 2 },
      providers: { docker: { endpoint: dockerd.host, watchByDefault: true, watchStopped: true } },
    });
    try {
      const s = await exporter.until(
        (s) => has(s, name),
        `${name}, whose image is gone, to be reported`,
        15_000,
      );
      expect(value(s, 'diun_provider_up', local)).toBe(1);
      const api = (await (await fetch(`${exporter.url}/api/v1/images`)).json()) as {
        images: Array<{
          containers: Array<{ name: string; errors: string[]; skipReason: string }>;
        }>;
      };
      const row = api.images.flatMap((i) => i.containers).find((c) => c.name === name);
      expect(row?.skipReason).toBe('image not found');
      expect(row?.errors).toEqual([expect.stringMatching(/^image sha256:[0-9a-f]{12} not found$/)]);
    } finally {
      await exporter.stop();
      await dockerd.docker(['rm', '-f', name]).catch(() => undefined);
    }
  });
});
