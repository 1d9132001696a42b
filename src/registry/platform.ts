// Multi-platform images: which entry of an OCI index (or Docker manifest list) a container runs,
// and the names Docker gives architectures.
import { INDEX_MEDIA_TYPES, type RegistryClient } from './client.js';
import { parseReference } from './reference.js';
import type { RequestOptions } from './types.js';

/** One platform's manifest in an image index. */
export interface PlatformManifest {
  os: string;
  architecture: string;
  variant?: string;
  digest: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

interface Descriptor {
  digest?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
  annotations?: Record<string, unknown>;
}

/** Whether a manifest media type is a multi-platform index. */
export function isIndex(mediaType: string | undefined): boolean {
  return (INDEX_MEDIA_TYPES as readonly string[]).includes(mediaType ?? '');
}

/**
 * The runnable platform entries of an index body. Attestation manifests (BuildKit marks them
 * `unknown/unknown` with a `vnd.docker.reference.type` annotation) are left out: adding one
 * changes the index's digest but no image anyone runs.
 */
export function platformManifests(index: unknown): PlatformManifest[] {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) return [];
  const entries: PlatformManifest[] = [];
  for (const m of manifests as Descriptor[]) {
    const p = m.platform;
    if (typeof m.digest !== 'string' || typeof p?.os !== 'string') continue;
    if (typeof p.architecture !== 'string') continue;
    if (p.os === 'unknown' || m.annotations?.['vnd.docker.reference.type'] !== undefined) continue;
    entries.push({
      os: p.os,
      architecture: p.architecture,
      ...(typeof p.variant === 'string' && p.variant !== '' ? { variant: p.variant } : {}),
      digest: m.digest,
    });
  }
  return entries;
}

/**
 * The platform entries of the manifest at `digest` of `image`'s repository: none when that
 * manifest is a single platform's. Throws the client's `RegistryError`.
 */
export async function indexEntries(
  registry: RegistryClient,
  image: string,
  digest: string,
  opts: RequestOptions,
): Promise<PlatformManifest[]> {
  const ref = { ...parseReference(image), digest };
  const manifest = await registry.getManifest(ref, opts);
  // A manifest that is no index is a single platform's: it has no entries to compare.
  return isIndex(manifest.mediaType) ? platformManifests(manifest.json) : [];
}

// Docker's names for architectures that other tools spell differently, by who spells them so.
// `uname -m`'s spellings are read in `diun.platform` labels, as Docker normalises them; Node's
// `process.arch` names the platform this process runs on. Any other name is Docker's already.
const ARCH_ALIASES = {
  uname: { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64' },
  node: { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' },
} satisfies Record<string, Record<string, string>>;

// Own properties only: a label value such as `constructor` is no alias.
const alias = (names: Record<string, string>, arch: string) =>
  Object.hasOwn(names, arch) ? names[arch]! : arch;

/** Docker's name for an architecture written as `uname -m` writes it (`x86_64` is `amd64`). */
export function normaliseArchitecture(arch: string): string {
  return alias(ARCH_ALIASES.uname, arch);
}

/** The architecture this process runs on, as Docker names it. */
export function hostArchitecture(): string {
  return alias(ARCH_ALIASES.node, process.arch);
}

// The variant a platform has when none is written, as containerd's platform matcher assumes.
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7', amd64: 'v1' };

const variantOf = (p: Platform) =>
  p.variant ||
  (Object.hasOwn(DEFAULT_VARIANT, p.architecture) ? DEFAULT_VARIANT[p.architecture]! : '');

/** Parses `os/arch[/variant]` (the `diun.platform` label, already normalised). */
export function parsePlatform(text: string): Platform {
  const [os = '', architecture = '', variant] = text.split('/');
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** The entry of an index that a container on `want` runs, or undefined when there is none. */
export function pickPlatform(
  entries: readonly PlatformManifest[],
  want: Platform,
): PlatformManifest | undefined {
  const same = entries.filter((e) => e.os === want.os && e.architecture === want.architecture);
  // Docker reports no variant for most images; then the architecture's default decides, and a
  // single candidate is taken whatever its variant.
  return (
    same.find((e) => variantOf(e) === variantOf(want)) ?? (same.length === 1 ? same[0] : undefined)
  );
}
