// Copies every Lua script under src/ to the same place under dist/: the Redis store reads
// its scripts from files beside its compiled modules, and tsc copies only what it compiles.
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.lua')) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(root, 'dist', relative(src, from)));
  copied++;
}
if (copied === 0) throw new Error('copy-lua: no .lua files found under src/');
