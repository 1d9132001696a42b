import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { constants, crc32, createDeflateRaw, createInflateRaw, deflateRawSync } from 'node:zlib';
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

type FamilyName = keyof typeof snapshotFamilies;

/** The names of the families rendered from the snapshot, in output order. */
export const snapshotFamilyNames = Object.keys(snapshotFamilies) as FamilyName[];

type ImageFamily = Exclude<FamilyName, 'diun_container_update_available'>;

/** Takes the text a part at a time, in order. */
type Write = (part: string) => void;

/** Writes one image's series of a per-image family, if it has any. */
type ImageSeries = (image: ImageState, id: string, w: Write) => void;

const NO_LABELS: readonly string[] = [];
const STATUS_LABELS = Object.fromEntries(statuses.map((s) => [s, [`,status="${s}"`]]));

/**
 * Writes one series, `name{id,...} value` and a newline, in parts: no line is built as a string
 * of its own, so the text costs no more than its bytes in the buffer. `labels` are the parts of
 * the labels after `id`, each pair as `,name="` then its escaped value then `"`.
 */
function series(w: Write, name: string, id: string, value: string, labels = NO_LABELS): void {
  w(name);
  w('{');
  w(id);
  for (const part of labels) w(part);
  w('} ');
  w(value);
  w('\n');
}

const flag = (on: boolean | undefined) => (on ? '1' : '0');

const imageSeries: Record<ImageFamily, ImageSeries> = {
  diun_image_update_available: ({ record: r }, id, w) =>
    series(w, 'diun_image_update_available', id, flag(r.updateAvailable)),
  diun_image_last_check_timestamp_seconds: ({ record: r }, id, w) => {
    if (r.lastCheck === undefined) return;
    series(w, 'diun_image_last_check_timestamp_seconds', id, sample(r.lastCheck));
  },
  diun_image_created_timestamp_seconds: ({ record: r }, id, w) => {
    if (r.remoteCreated === undefined) return;
    series(w, 'diun_image_created_timestamp_seconds', id, sample(r.remoteCreated));
  },
  diun_image_update_detected_timestamp_seconds: ({ record: r }, id, w) => {
    if (r.remoteDigestSince === undefined) return;
    series(w, 'diun_image_update_detected_timestamp_seconds', id, sample(r.remoteDigestSince));
  },
  diun_image_updates_detected_total: ({ updatesDetected }, id, w) =>
    series(w, 'diun_image_updates_detected_total', id, sample(updatesDetected)),
  diun_image_last_check_status: ({ record: r }, id, w) => {
    for (const status of statuses) {
      series(
        w,
        'diun_image_last_check_status',
        id,
        flag(r.status === status),
        STATUS_LABELS[status],
      );
    }
  },
  diun_image_info: ({ record: r, localDigests, hubLink }, id, w) =>
    series(w, 'diun_image_info', id, '1', [
      ',local_digest="',
      escapeLabelValue(localDigests.join(',')),
      '",remote_digest="',
      escapeLabelValue(r.remoteDigest ?? ''),
      '",hub_link="',
      escapeLabelValue(hubLink),
      '"',
    ]),
  diun_image_release_info: ({ releaseLink }, id, w) => {
    if (releaseLink === '') return;
    series(w, 'diun_image_release_info', id, '1', [
      ',release_url="',
      escapeLabelValue(releaseLink),
      '"',
    ]);
  },
  diun_image_newer_version_available: ({ record: r }, id, w) => {
    if (r.version) series(w, 'diun_image_newer_version_available', id, flag(r.version.newer));
  },
  diun_image_latest_version_info: ({ record: r }, id, w) => {
    if (!r.version) return;
    const { current, latest, diff } = r.version;
    series(w, 'diun_image_latest_version_info', id, '1', [
      ',current_version="',
      escapeLabelValue(current),
      '",latest_version="',
      escapeLabelValue(latest),
      '",semver_diff="',
      escapeLabelValue(diff),
      '"',
    ]);
  },
};

/**
 * Writes the text of every per-image and per-container family for one snapshot, closing newline
 * included: the same HELP, TYPE, labels and values prom-client's gauges gave, without a label
 * hash per series. Yields every SERIES_PER_YIELD images' (or containers') series, so that a
 * scrape after a run can compress what was written so far instead of holding it all.
 */
export function* writeSnapshotText(snapshot: Snapshot, w: Write): Generator<void> {
  const labelled = snapshot.images.map((image) => {
    const { provider, image: name } = image.record;
    return {
      image,
      id: `provider="${escapeLabelValue(provider)}",image="${escapeLabelValue(name)}"`,
    };
  });
  let written = 0;
  for (const [i, name] of snapshotFamilyNames.entries()) {
    const { help, type } = snapshotFamilies[name];
    w(`${i > 0 ? '\n' : ''}# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
    if (name === 'diun_container_update_available') {
      for (const [labels, updateAvailable] of containerSeries(snapshot)) {
        series(w, name, labels, flag(updateAvailable));
        if (++written % SERIES_PER_YIELD === 0) yield;
      }
      continue;
    }
    const write = imageSeries[name];
    for (const { image, id } of labelled) {
      write(image, id, w);
      if (++written % SERIES_PER_YIELD === 0) yield;
    }
  }
}

// A yield costs an iterator result (and the reader an await): not one per image.
const SERIES_PER_YIELD = 64;

/** The whole text of the snapshot's families at once (see `writeSnapshotText`). */
export function renderSnapshotFamilies(snapshot: Snapshot): string {
  const parts: string[] = [];
  for (const _ of writeSnapshotText(snapshot, (part) => parts.push(part)));
  return parts.join('');
}

/**
 * Each container series' labels and value, in order.
 * A label set seen twice keeps its first place and its last value, as a gauge.
 */
function containerSeries(snapshot: Snapshot): Map<string, boolean> {
  const family = new Map<string, boolean>();
  for (const { containers } of snapshot.images) {
    for (const { container: c, updateAvailable } of containers) {
      if (c.kind === 'entry') continue; // a file entry is no container; its image series say it all
      family.set(containerLabels(c), updateAvailable);
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

/** A scrape's body: its chunks in order and their total length. */
export interface Exposition {
  chunks: AsyncIterable<Buffer> | Buffer[];
  bytes: number;
  encoding?: 'gzip';
}

/** A gzip body: one gzip member, its chunks held (the snapshot's part is kept compressed). */
export interface GzipExposition extends Exposition {
  chunks: Buffer[];
  encoding: 'gzip';
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

  /**
   * The snapshot's families, then prom-client's: gzip (one member, held) or plain text, inflated
   * as the chunks are read, so that the text is never held whole.
   */
  async exposition(gzip: true): Promise<GzipExposition>;
  async exposition(gzip: boolean): Promise<Exposition>;
  async exposition(gzip: boolean): Promise<Exposition> {
    const rest = await super.metrics();
    // An empty registry still answers one newline; otherwise a blank line parts the families.
    const tail = Buffer.from(rest === '\n' ? '' : `\n${rest}`);
    const part = await this.snapshotPart();
    const bytes = part.bytes + tail.length;
    if (!gzip) return { chunks: inflated(part.deflated, tail), bytes };
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(tail, part.crc) >>> 0, 0);
    trailer.writeUInt32LE(bytes % 2 ** 32, 4);
    const last = deflateRawSync(tail, { level: 1 });
    const chunks = [GZIP_HEADER, part.deflated, last, trailer];
    return { chunks, bytes: chunks.reduce((n, c) => n + c.length, 0), encoding: 'gzip' };
  }

  /** The whole text, as prom-client's `metrics()` gives it. */
  override async metrics(): Promise<string> {
    const utf8 = new StringDecoder('utf8');
    let text = '';
    for await (const chunk of (await this.exposition(false)).chunks) text += utf8.write(chunk);
    return text + utf8.end();
  }

  private snapshotPart(): Promise<DeflatedPart> {
    const snapshot = this.source.snapshot();
    if (this.rendered?.snapshot !== snapshot) {
      const part = deflatePart(snapshot);
      this.rendered = { snapshot, part };
      // A failure is not kept: the next scrape renders again.
      part.catch(() => {
        if (this.rendered?.part === part) this.rendered = undefined;
      });
    }
    return this.rendered.part;
  }
}

/**
 * The deflated text, inflated a chunk at a time as it is read, then the tail. The reader paces
 * the inflating: a plain scrape holds a few chunks of the text, where one Buffer of it all
 * (about 11 MiB at 10,000 images) left glibc's malloc keeping that much after it was freed.
 */
async function* inflated(deflated: Buffer, tail: Buffer): AsyncGenerator<Buffer> {
  const inflate = createInflateRaw({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: TEXT_CHUNK });
  inflate.end(deflated);
  yield* inflate; // a reader that stops early ends the iteration, which destroys the stream
  yield tail;
}

// zlib's default chunk is 16 KiB: four times as many writes to the socket made a plain scrape at
// 10,000 images about 70 ms where this takes about 40, and kept no less memory.
const TEXT_CHUNK = 64 * 1024;

// Level 1 is several times faster than the default, and the label-heavy text still shrinks
// about tenfold. One deflate stream takes the whole text, a run at a time, and ends with a sync
// flush instead of a final block, so the part ends on a byte boundary and more can follow: the
// text (11.6 MiB at 10,000 images) is never held whole, only a few runs of it at a time, and
// zlib's native state is allocated once per render rather than once per run.
async function deflatePart(snapshot: Snapshot): Promise<DeflatedPart> {
  const deflate = createDeflateRaw({ level: 1, finishFlush: constants.Z_SYNC_FLUSH });
  const deflated: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => deflated.push(chunk));
  const ended = finished(deflate);
  // Listens for the stream's error from the start; a failure also fails the write waiting on it.
  ended.catch(() => undefined);
  let crc = 0;
  let bytes = 0;
  const text = new RunBuffers();
  const deflateFull = async () => {
    for (let run = text.nextFull(); run !== undefined; run = text.nextFull()) {
      crc = crc32(run, crc);
      bytes += run.length;
      // Called once zlib has taken in the whole run: its buffer can take text again.
      await new Promise<void>((resolve, reject) =>
        deflate.write(run, (err) => (err ? reject(err) : resolve())),
      );
      text.reuse(run);
    }
  };
  try {
    for (const _ of writeSnapshotText(snapshot, text.write)) {
      if (text.hasFull()) await deflateFull();
    }
    text.end();
    await deflateFull();
    deflate.end();
    await ended;
  } finally {
    deflate.destroy(); // frees zlib's state now on a failure too, not when collected
  }
  return { deflated: Buffer.concat(deflated), crc, bytes };
}

/** How much text one deflate write takes: the text is held only a few runs at a time. */
const RUN_BYTES = 256 * 1024;

/**
 * Text written as UTF-8 into buffers of RUN_BYTES; each full one waits to be deflated, and its
 * buffer, once zlib has taken it in, takes text again.
 */
class RunBuffers {
  private readonly full: Buffer[] = [];
  private readonly free: Buffer[] = [];
  private buffer: Buffer = Buffer.allocUnsafeSlow(RUN_BYTES);
  private used = 0;

  readonly write = (part: string): void => {
    // A UTF-16 unit takes at most three bytes in UTF-8.
    if (this.used + part.length * 3 > RUN_BYTES) this.end();
    if (part.length * 3 > RUN_BYTES) this.full.push(Buffer.from(part));
    else this.used += this.buffer.write(part, this.used);
  };

  /** Ends the run being written, if any: it waits with the full ones. */
  end(): void {
    if (this.used === 0) return;
    this.full.push(this.buffer.subarray(0, this.used));
    this.buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(RUN_BYTES);
    this.used = 0;
  }

  hasFull(): boolean {
    return this.full.length > 0;
  }

  /** The oldest run waiting to be deflated. */
  nextFull(): Buffer | undefined {
    return this.full.shift();
  }

  /** Takes back a run's buffer once it is deflated, unless it was a part too long for one. */
  reuse(run: Buffer): void {
    if (run.byteOffset === 0 && run.buffer.byteLength === RUN_BYTES) {
      this.free.push(Buffer.from(run.buffer));
    }
  }
}
