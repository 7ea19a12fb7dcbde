#!/usr/bin/env node
// Empties dist/ before a build, so that a file whose source was moved or removed never ships.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
