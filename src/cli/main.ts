#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAdmin } from './admin.js';
import { registerAnalyze } from './analyze.js';
import { registerDemo } from './demo.js';
import { registerGenLog } from './gen-log.js';
import { registerServe } from './serve.js';

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command()
  .name('hitwarden')
  .description('Watch request traffic and ward off abusers')
  .version(version)
  // A usage error (an unknown flag, a bad value) exits 2, as CLI conventions have it;
  // commander has already printed its one-line message.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
registerDemo(program);
registerServe(program);
registerAdmin(program);
registerAnalyze(program);
registerGenLog(program);

await program.parseAsync();
