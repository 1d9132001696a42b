// Where an image comes from, as it says itself in its config's labels (the OCI annotations of
// image-spec's annotations.md): its source repository, version and revision, and its pages.
import type { ImageOrigin } from '../state/records.js';

// The OCI annotations (image-spec annotations.md) read from the config's labels.
const ORIGIN_LABELS = {
  source: 'org.opencontainers.image.source',
  version: 'org.opencontainers.image.version',
  revision: 'org.opencontainers.image.revision',
  url: 'org.opencontainers.image.url',
  documentation: 'org.opencontainers.image.documentation',
} as const;
// Longer values are no link or version anyone wants in a label or an alert.
const MAX_ORIGIN_VALUE = 512;

/** The origin labels among an image's labels; undefined when it has none. */
export function originOf(
  labels: Record<string, unknown> | null | undefined,
): ImageOrigin | undefined {
  if (!labels || typeof labels !== 'object') return undefined;
  const origin: ImageOrigin = {};
  for (const [field, label] of Object.entries(ORIGIN_LABELS)) {
    const value = Object.hasOwn(labels, label) ? labels[label] : undefined;
    if (typeof value === 'string' && value !== '' && value.length <= MAX_ORIGIN_VALUE) {
      origin[field as keyof ImageOrigin] = value;
    }
  }
  return Object.keys(origin).length > 0 ? origin : undefined;
}
