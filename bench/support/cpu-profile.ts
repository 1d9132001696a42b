/** The parts of a V8 `.cpuprofile` (as `node --cpu-prof` writes it) read here. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Markdown table rows: the `limit` functions with the most self time, and for each file of the
 * project or a dependency the self time summed over its functions.
 */
export function topSelfTime(profile: CpuProfile, limit: number): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const file = shortUrl(f.url);
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const group = file.startsWith('node_modules/')
      ? file
          .split('/')
          .slice(0, file.startsWith('node_modules/@') ? 3 : 2)
          .join('/')
      : file || f.functionName;
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(
        ([k, us]) =>
          `| ${k} | ${(us / 1000).toFixed(0)} ms | ${((100 * us) / total).toFixed(1)} % |`,
      );
  return [
    `Sampled: ${(total / 1e6).toFixed(2)} s.`,
    '',
    '| function (self time) | ms | share |',
    '|---|---|---|',
    ...rows(byFunction),
    '',
    '| file or package (self time) | ms | share |',
    '|---|---|---|',
    ...rows(byFile),
  ];
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) return url.slice(nm);
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}
