import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/*
 * `"sideEffects": false` in package.json promises bundlers that importing a module does
 * nothing but define things. This imports the built package root (`npm test` builds dist/
 * first) in a fresh node whose file reads and timers are watched from before the import,
 * and checks that it read no Lua script and started no timer. The control imports the
 * script module itself and reads a script, so a watch that saw nothing cannot pass.
 */
function sideEffectsOf(afterImport: string): { lua: string[]; timers: number } {
  const program = `
    import { createRequire, syncBuiltinESMExports } from 'node:module';
    const fs = createRequire(import.meta.url)('node:fs');
    const lua = [];
    const watch = (name) => {
      const original = fs[name];
      fs[name] = function (path, ...rest) {
        if (String(path).endsWith('.lua')) lua.push(String(path));
        return original.call(this, path, ...rest);
      };
    };
    for (const name of ['readFileSync', 'readFile', 'openSync', 'open']) watch(name);
    const originalRead = fs.promises.readFile;
    fs.promises.readFile = (path, ...rest) => {
      if (String(path).endsWith('.lua')) lua.push(String(path));
      return originalRead(path, ...rest);
    };
    syncBuiltinESMExports();
    let timers = 0;
    for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
      const original = globalThis[name];
      globalThis[name] = (...args) => {
        timers++;
        return original(...args);
      };
    }
    const api = await import('hitwarden');
    ${afterImport}
    console.log(JSON.stringify({ lua: lua.map((path) => path.split('/').pop()), timers }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], {
    encoding: 'utf8',
    cwd: new URL('..', import.meta.url).pathname,
  });
  return JSON.parse(out.trim());
}

describe('importing the package root', () => {
  it('reads no Lua file and starts no timer', () => {
    expect(sideEffectsOf('')).toEqual({ lua: [], timers: 0 });
  });

  it('exports no process-wide deny cache (each BanHammer has its own)', () => {
    expect(sideEffectsOf("if ('localBlocks' in api) throw new Error('a singleton');")).toEqual({
      lua: [],
      timers: 0,
    });
  });

  it('reads a script on its first use (the watch sees reads)', () => {
    const seen = sideEffectsOf(
      `const { RedisScript } = await import('./dist/store/redis/script.js');
       const script = new RedisScript('decide', ['lib']);
       if (lua.length !== 0) throw new Error('read when made');
       script.sha;
       script.sha;`,
    );
    expect(seen).toEqual({ lua: ['lib.lua', 'decide.lua'], timers: 0 });
  });

  it("loads none of the service's dependencies (fastify, pino, prom-client, yaml)", () => {
    // They are CommonJS: whatever loaded them, ESM import included, left them in require.cache.
    const program = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const before = new Set(Object.keys(require.cache));
      await import('hitwarden');
      const names = ['fastify', 'pino', 'prom-client', 'yaml'];
      const loaded = Object.keys(require.cache)
        .filter((path) => !before.has(path))
        .flatMap((path) => names.filter((name) => path.includes('/node_modules/' + name + '/')));
      const control = await import('./dist/service/app.js');
      const after = Object.keys(require.cache).some((path) => path.includes('/node_modules/fastify/'));
      console.log(JSON.stringify({ loaded: [...new Set(loaded)], control: after && typeof control.createService }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      cwd: new URL('..', import.meta.url).pathname,
    });
    expect(JSON.parse(out.trim())).toEqual({ loaded: [], control: 'function' });
  });
});
