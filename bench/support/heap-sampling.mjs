// What the profiling preloads (allocation-profile.mjs, promoted-profile.mjs) share: an inspector
// session in the exporter's own process, and a sampling heap profile summed by frame.
import inspector from 'node:inspector';

/** `post(method, params)` on an inspector session connected to this process. */
export function inspectorPost() {
  const session = new inspector.Session();
  session.connect();
  return (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
    );
}

/** `123.4 MiB`, right-aligned. */
export const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1).padStart(7)} MiB`;

function frameName({ functionName, url, lineNumber }) {
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

/**
 * A sampling heap profile summed: the bytes in all, and the top 30 frames by allocating frame
 * and by the nearest frame of the exporter's own code (dist/); `noOwnFrame` names what has none.
 */
export function byFrame(profile, noOwnFrame) {
  const self = new Map();
  const ours = new Map();
  let total = 0;
  const walk = (node, nearestOwn) => {
    const name = frameName(node.callFrame);
    const own = name.includes(' dist/') ? name : nearestOwn;
    if (node.selfSize > 0) {
      total += node.selfSize;
      self.set(name, (self.get(name) ?? 0) + node.selfSize);
      ours.set(own, (ours.get(own) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, own);
  };
  walk(profile.head, noOwnFrame);
  const top = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 30)
      .map(([name, bytes]) => `${mib(bytes)}  ${name}`);
  return {
    total,
    lines: [
      'by allocating frame:',
      ...top(self),
      '',
      "by the nearest frame of the exporter's own code:",
      ...top(ours),
    ],
  };
}
