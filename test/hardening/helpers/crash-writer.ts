/**
 * The child process of the crash-safety test: writes two alternating cache entries for one
 * attachment in a loop until it is killed. `naive` writes in place with fs.promises.writeFile
 * (which truncates, then writes in 512 KiB chunks) instead of ResultCache.write: the control that
 * shows the test can see a torn write.
 *
 *   node crash-writer.mjs <cacheDir> <atomic|naive>
 *
 * Prints `ready` once the first write is complete.
 */
import { writeFile } from 'node:fs/promises';
import { encodeCacheEntry, ResultCache } from '../../../src/cache/cache.ts';
import { crashEntries } from './crash-entries.ts';

const [cacheDir, mode] = process.argv.slice(2) as [string, string];
const cache = new ResultCache(cacheDir, { sync: 'full' });
const entries = crashEntries();
const texts = entries.map(encodeCacheEntry);

async function writeOne(i: number): Promise<void> {
  const entry = entries[i % 2] as (typeof entries)[number];
  if (mode === 'naive') await writeFile(cache.pathFor(entry), texts[i % 2] as string);
  else await cache.write(entry);
}

await writeOne(0);
process.stdout.write('ready\n');
for (let i = 1; ; i++) await writeOne(i);
