import { promisify } from 'node:util';
import { constants, crc32, deflateRaw, deflateRawSync, inflateRaw } from 'node:zlib';
import { Registry } from 'prom-client';
import type { WatchedContainer } from '../providers/types.js';
import { statuses } from '../state/records.js';
import type { ImageState, Snapshot } from '../watch/model.js';
import { snapshotFamilies } from './families.js';
import type { MetricsSource } from './snapshot-gauges.js';

/** Escapes a label value as the text format (and prom-client) do: backslash, newline, quote. */
export function escapeLabelValue(value: string): string {
  const s = String(value); // a missing value renders as prom-client renders it: "undefined"
  return /[\\\n"]/.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
    : s;
}

/** A sample value as prom-client writes it (its spelling of NaN included). */
function sample(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

type FamilyName = keyof typeof snapshotFamilies;

/** The names of the families rendered from the snapshot, in output order. */
export const snapshotFamilyNames = Object.keys(snapshotFamilies) as FamilyName[];

type ImageFamily = Exclude<FamilyName, 'diun_container_update_available'>;

/** One image's series in a per-image family (several lines parted by newlines), if it has any. */
type ImageSeries = (image: ImageState, id: string) => string | undefined;

const imageSeries: Record<ImageFamily, ImageSeries> = {
  diun_image_update_available: ({ record: r }, id) =>
    `diun_image_update_available{${id}} ${r.updateAvailable ? 1 : 0}`,
  diun_image_last_check_timestamp_seconds: ({ record: r }, id) =>
    r.lastCheck === undefined
      ? undefined
      : `diun_image_last_check_timestamp_seconds{${id}} ${sample(r.lastCheck)}`,
  diun_image_created_timestamp_seconds: ({ record: r }, id) =>
    r.remoteCreated === undefined
      ? undefined
      : `diun_image_created_timestamp_seconds{${id}} ${sample(r.remoteCreated)}`,
  diun_image_update_detected_timestamp_seconds: ({ record: r }, id) =>
    r.remoteDigestSince === undefined
      ? undefined
      : `diun_image_update_detected_timestamp_seconds{${id}} ${sample(r.remoteDigestSince)}`,
  diun_image_last_check_status: ({ record: r }, id) =>
    statuses
      .map(
        (status) =>
          `diun_image_last_check_status{${id},status="${status}"} ${r.status === status ? 1 : 0}`,
      )
      .join('\n'),
  diun_image_info: ({ record: r, localDigests, hubLink }, id) => {
    const local = escapeLabelValue(localDigests.join(','));
    const remote = escapeLabelValue(r.remoteDigest ?? '');
    return `diun_image_info{${id},local_digest="${local}",remote_digest="${remote}",hub_link="${escapeLabelValue(hubLink)}"} 1`;
  },
  diun_image_release_info: ({ releaseLink }, id) =>
    releaseLink === ''
      ? undefined
      : `diun_image_release_info{${id},release_url="${escapeLabelValue(releaseLink)}"} 1`,
  diun_image_newer_version_available: ({ record: r }, id) =>
    r.version && `diun_image_newer_version_available{${id}} ${r.version.newer ? 1 : 0}`,
  diun_image_latest_version_info: ({ record: r }, id) =>
    r.version &&
    `diun_image_latest_version_info{${id},current_version="${escapeLabelValue(r.version.current)}",latest_version="${escapeLabelValue(r.version.latest)}",semver_diff="${escapeLabelValue(r.version.diff)}"} 1`,
};

/**
 * The text of every per-image and per-container family for one snapshot, closing newline
 * included, a piece at a time (a family's head, then one image's series): the same HELP, TYPE,
 * labels and values prom-client's gauges gave, without a label hash per series. A scrape after a
 * run compresses the pieces as they come instead of holding the whole text.
 */
export function* snapshotText(snapshot: Snapshot): Generator<string> {
  const labelled = snapshot.images.map((image) => {
    const { provider, image: name } = image.record;
    return {
      image,
      id: `provider="${escapeLabelValue(provider)}",image="${escapeLabelValue(name)}"`,
    };
  });
  for (const [i, name] of snapshotFamilyNames.entries()) {
    const { help, type } = snapshotFamilies[name];
    yield `${i > 0 ? '\n' : ''}# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    if (name === 'diun_container_update_available') {
      for (const line of containerSeries(snapshot)) yield `${line}\n`;
      continue;
    }
    const series = imageSeries[name];
    for (const { image, id } of labelled) {
      const lines = series(image, id);
      if (lines !== undefined) yield `${lines}\n`;
    }
  }
}

/** The whole text of the snapshot's families at once (see `snapshotText`). */
export function renderSnapshotFamilies(snapshot: Snapshot): string {
  return Array.from(snapshotText(snapshot)).join('');
}

/** A container label set seen twice keeps its first place and its last value, as a gauge. */
function containerSeries(snapshot: Snapshot): string[] {
  const family: string[] = [];
  const containerAt = new Map<string, number>();
  for (const { containers } of snapshot.images) {
    for (const { container: c, updateAvailable } of containers) {
      if (c.kind === 'entry') continue; // a file entry is no container; its image series say it all
      const labels = containerLabels(c);
      const line = `diun_container_update_available{${labels}} ${updateAvailable ? 1 : 0}`;
      const at = containerAt.get(labels);
      if (at === undefined) {
        containerAt.set(labels, family.length);
        family.push(line);
      } else family[at] = line;
    }
  }
  return family;
}

/**
 * A container series' labels: the ones every series has (Compose's empty when unset), then the
 * provider's own, in the order it gives them.
 */
function containerLabels(c: WatchedContainer): string {
  const { compose_project = '', compose_service = '', ...own } = c.seriesLabels;
  let labels = `provider="${escapeLabelValue(c.provider)}",endpoint="${escapeLabelValue(c.endpoint)}",container="${escapeLabelValue(c.name)}",image="${escapeLabelValue(c.image)}",compose_project="${escapeLabelValue(compose_project)}",compose_service="${escapeLabelValue(compose_service)}"`;
  for (const [name, value] of Object.entries(own))
    labels += `,${name}="${escapeLabelValue(value)}"`;
  return labels;
}

/** A scrape's body: its chunks in order, one gzip stream when `encoding` says so. */
export interface Exposition {
  chunks: Buffer[];
  encoding?: 'gzip';
}

/** Text compressed as a raw deflate run that does not end the stream, so more can follow. */
interface DeflatedPart {
  deflated: Buffer;
  crc: number;
  bytes: number;
}

// Magic, deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952).
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * A registry whose text output also carries the snapshot families. The snapshot changes only
 * after a run or a Docker event (the watcher replaces it), so their text is rendered and
 * compressed once per snapshot, and only the compressed copy is kept: at 10,000 images about
 * 1 MiB held and sent per scrape instead of 11.6 MiB. A scrape then compresses only
 * prom-client's few families and closes the stream after the snapshot's.
 */
export class SnapshotRegistry extends Registry {
  private rendered: { snapshot: Snapshot; part: Promise<DeflatedPart> } | undefined;

  constructor(private readonly source: Pick<MetricsSource, 'snapshot'>) {
    super();
  }

  /** The snapshot's families, then prom-client's: gzip (one member) or plain text. */
  async exposition(gzip: boolean): Promise<Exposition> {
    const rest = await super.metrics();
    // An empty registry still answers one newline; otherwise a blank line parts the families.
    const tail = Buffer.from(rest === '\n' ? '' : `\n${rest}`);
    const part = await this.snapshotPart();
    if (!gzip) {
      const text = await inflateRawAsync(part.deflated, { finishFlush: constants.Z_SYNC_FLUSH });
      return { chunks: [text, tail] };
    }
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(tail, part.crc) >>> 0, 0);
    trailer.writeUInt32LE((part.bytes + tail.length) % 2 ** 32, 4);
    const last = deflateRawSync(tail, { level: 1 });
    return { chunks: [GZIP_HEADER, part.deflated, last, trailer], encoding: 'gzip' };
  }

  /** The whole text, as prom-client's `metrics()` gives it. */
  override async metrics(): Promise<string> {
    return Buffer.concat((await this.exposition(false)).chunks).toString('utf8');
  }

  private snapshotPart(): Promise<DeflatedPart> {
    const snapshot = this.source.snapshot();
    if (this.rendered?.snapshot !== snapshot) {
      const part = deflatePart(snapshotText(snapshot));
      this.rendered = { snapshot, part };
      // A failure is not kept: the next scrape renders again.
      part.catch(() => {
        if (this.rendered?.part === part) this.rendered = undefined;
      });
    }
    return this.rendered.part;
  }
}

// Level 1 is several times faster than the default, and the label-heavy text still shrinks
// about tenfold. Each sync flush ends a run on a byte boundary without a final block, so the
// runs, compressed one after another, make one stream: the text is never held whole (at 10,000
// images it is 11.6 MiB), only one buffer of it at a time, reused.
async function deflatePart(pieces: Iterable<string>): Promise<DeflatedPart> {
  const runs: Buffer[] = [];
  let crc = 0;
  let bytes = 0;
  const deflate = async (raw: Buffer) => {
    crc = crc32(raw, crc);
    bytes += raw.length;
    runs.push(await deflateRawAsync(raw, { level: 1, finishFlush: constants.Z_SYNC_FLUSH }));
  };
  const buffer = Buffer.allocUnsafe(RUN_BYTES);
  let used = 0;
  for (const piece of pieces) {
    // A UTF-16 unit takes at most three bytes in UTF-8.
    if (used + piece.length * 3 > RUN_BYTES && used > 0) {
      await deflate(buffer.subarray(0, used));
      used = 0;
    }
    if (piece.length * 3 > RUN_BYTES) await deflate(Buffer.from(piece));
    else used += buffer.write(piece, used);
  }
  if (used > 0) await deflate(buffer.subarray(0, used));
  return { deflated: Buffer.concat(runs), crc, bytes };
}

/** How much text one deflate run takes: small enough to hold, large enough to shrink as well. */
const RUN_BYTES = 256 * 1024;
