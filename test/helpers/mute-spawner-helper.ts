/**
 * A SpawnerExec helper that starts each plugin it is asked to run and then says nothing, ever: no
 * start record, no replies, no pongs. It stands for a wedged or buggy helper (a native one, say):
 * SpawnerExec must still end its calls at their deadline and kill the plugins it started.
 */
import { spawn } from 'node:child_process';
import { FrameReader, type Request } from '../../src/invoke/spawner-protocol.ts';

const reader = new FrameReader((header, body) => {
  const req = header as Request;
  if (req.t !== 'run') return;
  const child = spawn(req.path, [], { detached: true, env: req.env, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => undefined);
  child.stdin.end(body);
});
process.stdin.on('data', (chunk: Buffer) => {
  reader.push(chunk);
});
