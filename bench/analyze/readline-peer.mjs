// The obvious thing a user writes to count a log's clients: readline, one regex, a Map, a
// sort. A peer for `npm run bench:analyze`, not part of hitwarden. Reads gzip when the file
// name ends in .gz.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

const file = process.argv[2];
let input = createReadStream(file);
if (file.endsWith('.gz')) input = input.pipe(createGunzip());
const counts = new Map();
const client = /^(\S+) /;
for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
  const match = client.exec(line);
  if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
}
const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 100);
for (const [ip, count] of top) process.stdout.write(`${count} ${ip}\n`);
