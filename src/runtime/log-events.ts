/**
 * The NetworkManager's events as log entries for its `logger` option (core/logger.ts): what a
 * runtime would otherwise write a listener per event for. Problems the manager works around
 * (a bad file, a rollback, an unused capability, a corrupt cache entry) are warnings; a failing
 * watcher is an error; loads and GC rounds are info; single attachments are debug.
 */
import { type LogEntry, type LogFields, quarantineEntry } from '../core/logger.ts';
import type { NetworkManagerEvents } from './types.ts';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function entry(level: LogEntry['level'], event: string, text: string, fields: LogFields): LogEntry {
  return { level, message: text, fields: { event, ...fields } };
}

type Describe<K extends keyof NetworkManagerEvents> = (...args: NetworkManagerEvents[K]) => LogEntry;

const DESCRIBE: { [K in keyof NetworkManagerEvents]: Describe<K> } = {
  configLoaded: (e) =>
    entry(
      'info',
      'configLoaded',
      `config loaded (${e.reason}): ${e.networks.length} network(s) [${e.networks.map((n) => n.name).join(', ')}], ${e.configErrors.length} bad file(s)`,
      {
        reason: e.reason,
        networks: e.networks.map((n) => n.name),
        staleNetworks: e.networks.filter((n) => n.stale).map((n) => n.name),
        configErrors: e.configErrors.map((c) => c.file),
        missing: e.missing,
        skipped: e.skipped.map((s) => s.name),
      },
    ),
  configDirChanged: (e) =>
    entry('info', 'configDirChanged', `config dir ${e.dir} ${e.change}`, {
      dir: e.dir,
      change: e.change,
      target: e.target,
      previousTarget: e.previousTarget,
    }),
  configError: (e) =>
    entry('warn', 'configError', `config file ${e.file} not used: ${message(e.error)}`, {
      file: e.file,
      error: message(e.error),
    }),
  attached: (e) =>
    entry('debug', 'attached', `attached ${e.containerId} to ${e.network} as ${e.ifName}`, {
      containerId: e.containerId,
      network: e.network,
      ifName: e.ifName,
    }),
  capabilityUnused: (e) =>
    entry(
      'warn',
      'capabilityUnused',
      `capability ${e.capability} given for ${e.containerId} is declared by no plugin of ${e.network}`,
      { containerId: e.containerId, network: e.network, capability: e.capability },
    ),
  detached: (e) =>
    entry('debug', 'detached', `detached ${e.containerId} from ${e.network} (${e.ifName})`, {
      containerId: e.containerId,
      network: e.network,
      ifName: e.ifName,
      source: e.source,
    }),
  rollback: (e) =>
    entry(
      'warn',
      'rollback',
      `setup of ${e.containerId} failed (${message(e.cause)}); rollback ${e.ok ? 'done' : `left ${e.errors.length} attachment(s) behind`}`,
      {
        containerId: e.containerId,
        cause: message(e.cause),
        ok: e.ok,
        undone: e.undone.map((u) => `${u.network}/${u.ifName}`),
        errors: e.errors.map(message),
      },
    ),
  gc: (e) =>
    entry(
      e.errors.length > 0 ? 'warn' : 'info',
      'gc',
      `gc${e.dryRun ? ' (dry run)' : ''}: ${e.removed.length} attachment(s) removed, ${e.errors.length} error(s)`,
      {
        removed: e.removed.map((r) => `${r.network}/${r.containerId}/${r.ifName}`),
        errors: e.errors.map(message),
        dryRun: e.dryRun,
      },
    ),
  cacheQuarantine: (e) => quarantineEntry(e),
  watchError: (e) =>
    entry('error', 'watchError', `config watch failed: ${message(e)}`, { error: message(e) }),
};

/** The log entry of a manager event. */
export function eventEntry<K extends keyof NetworkManagerEvents>(
  event: K,
  ...args: NetworkManagerEvents[K]
): LogEntry {
  return (DESCRIBE[event] as Describe<K>)(...args);
}
