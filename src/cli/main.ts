#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerDemo } from './demo.js';

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command()
  .name('hitwarden')
  .description('Watch request traffic and ward off abusers')
  .version(version);
registerDemo(program);

await program.parseAsync();
