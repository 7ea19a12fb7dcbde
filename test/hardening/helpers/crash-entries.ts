/** The two cache entries the crash-safety test's writer alternates between (large, so writes take time). */
import type { CacheEntry } from '../../../src/cache/cache.ts';

/** Bytes 1 MiB long whose content depends on `seed`, so the two entries differ everywhere. */
function bulk(seed: number): Uint8Array {
  const out = new Uint8Array(1 << 20);
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Entry A and entry B of attachment `crashnet` / `crash-ctr` / `eth0`. */
export function crashEntries(): [CacheEntry, CacheEntry] {
  const base = { network: 'crashnet', containerId: 'crash-ctr', ifName: 'eth0', netns: '/run/netns/crash' };
  return [
    { ...base, config: bulk(1), result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.1/24' }] } },
    { ...base, config: bulk(2), result: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] } },
  ];
}
