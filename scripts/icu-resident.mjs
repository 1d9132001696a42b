// How much of the ICU data built into the node binary a running process keeps resident, and which
// parts: `node scripts/icu-resident.mjs <pid>` (Linux; the pid's /proc/<pid>/pagemap must be
// readable, as it is for the same user). The data is the binary's `icudt*_dat` symbol; a page
// counts when its present bit is set in pagemap. A bare `node -e 0` shows about 0.5 MiB (the
// time zone rules and the locale list); collation, number and date formatting each add megabytes.
import { closeSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';

const PAGE = 4096;
const pid = process.argv[2] ?? 'self';
const exe = realpathSync(`/proc/${pid}/exe`);
const elf = readFileSync(exe);

// Program headers: file offset and address of each loaded segment.
const segments = [];
const phoff = Number(elf.readBigUInt64LE(0x20));
for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
  const at = phoff + i * elf.readUInt16LE(0x36);
  if (elf.readUInt32LE(at) !== 1) continue; // PT_LOAD
  const offset = Number(elf.readBigUInt64LE(at + 8));
  segments.push({ offset, vaddr: Number(elf.readBigUInt64LE(at + 16)) });
}

// The dynamic symbol table: the ICU data symbol's address and size.
const shoff = Number(elf.readBigUInt64LE(0x28));
const section = (i) => shoff + i * elf.readUInt16LE(0x3a);
let icu;
for (let i = 0; i < elf.readUInt16LE(0x3c) && icu === undefined; i++) {
  const sh = section(i);
  if (elf.readUInt32LE(sh + 4) !== 11) continue; // SHT_DYNSYM
  const symbols = Number(elf.readBigUInt64LE(sh + 24));
  const strtab = Number(elf.readBigUInt64LE(section(elf.readUInt32LE(sh + 40)) + 24));
  for (let s = symbols; s < symbols + Number(elf.readBigUInt64LE(sh + 32)); s += 24) {
    const nameAt = strtab + elf.readUInt32LE(s);
    const name = elf.toString('latin1', nameAt, elf.indexOf(0, nameAt));
    if (!/^icudt\d+_dat$/.test(name)) continue;
    icu = { vaddr: Number(elf.readBigUInt64LE(s + 8)), size: Number(elf.readBigUInt64LE(s + 16)) };
    break;
  }
}
if (icu === undefined) throw new Error(`${exe} has no icudt*_dat symbol (ICU data not built in)`);
const segment = segments.filter((s) => s.vaddr <= icu.vaddr).at(-1);
const data = elf.subarray(icu.vaddr - segment.vaddr + segment.offset).subarray(0, icu.size);

// Where the binary is loaded: the mapping of its first page (0 for a non-PIE binary).
const first = segments[0];
const mapping = readFileSync(`/proc/${pid}/maps`, 'utf8')
  .split('\n')
  .map((line) => line.split(/\s+/))
  .find((f) => f[5] === exe && Number.parseInt(f[2], 16) === first.offset);
const start = Number.parseInt(mapping[0].split('-')[0], 16) - first.vaddr + icu.vaddr;

// ICU's common data: a header, then a table of contents of (name offset, data offset) pairs.
const toc = data.readUInt16LE(0);
const items = [];
for (let i = 0; i < data.readUInt32LE(toc); i++) {
  const nameAt = toc + data.readUInt32LE(toc + 4 + i * 8);
  const name = data.toString('latin1', nameAt, data.indexOf(0, nameAt)).replace(/^[^/]*\//, '');
  items.push({ name, from: toc + data.readUInt32LE(toc + 8 + i * 8) });
}
items.sort((a, b) => a.from - b.from);

const firstPage = Math.floor(start / PAGE);
const pages = Math.ceil((start + icu.size) / PAGE) - firstPage;
const pagemap = Buffer.alloc(pages * 8);
const fd = openSync(`/proc/${pid}/pagemap`, 'r');
readSync(fd, pagemap, 0, pagemap.length, firstPage * 8);
closeSync(fd);
const resident = (page) => pagemap.readBigUInt64LE(page * 8) >> 63n === 1n;

// Each resident page counted once, for the item (by folder: coll/, zone/, ...) it starts in.
const groups = new Map();
let total = 0;
for (let page = 0; page < pages; page++) {
  if (!resident(page)) continue;
  total += 4;
  const offset = Math.max(0, (firstPage + page) * PAGE - start);
  const item = items.findLast((it) => it.from <= offset) ?? { name: '(header)' };
  const group = item.name.includes('/') ? `${item.name.split('/')[0]}/` : item.name;
  groups.set(group, (groups.get(group) ?? 0) + 4);
}
const top = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 8);
console.log(
  `pid ${pid}: ${(total / 1024).toFixed(2)} MiB of ${(icu.size / 1048576).toFixed(1)} MiB ICU data resident; ` +
    top.map(([group, kib]) => `${group} ${kib} KiB`).join(', '),
);
