import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * The package as someone who installs it from git or from a tarball gets it: the tracked
 * files alone (no dist/, no node_modules), `npm ci` and `npm pack` there (the `prepare`
 * script builds), then the tarball installed into an empty project that imports every export
 * of the root and runs the CLI. A file missing from `files`, a build step that only works in
 * a developer's tree or a dependency that is only a devDependency fails here.
 */
const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'hitwarden-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const npm = (cwd: string, ...args: string[]) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('the packed package', () => {
  it('builds from a clean checkout, installs from its tarball and exports what the sources export', async () => {
    const checkout = join(work, 'checkout');
    const tracked = execFileSync(
      'git',
      ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
      { cwd: root, encoding: 'utf8' },
    )
      .split('\0')
      .filter((file) => file !== '');
    for (const file of tracked) {
      mkdirSync(join(checkout, dirname(file)), { recursive: true });
      cpSync(join(root, file), join(checkout, file));
    }
    npm(checkout, 'ci', '--ignore-scripts');
    npm(checkout, 'pack', '--pack-destination', work);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    const user = join(work, 'user');
    mkdirSync(user);
    writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'user', type: 'module' }));
    npm(user, 'install', join(work, tarball!));

    const sources = Object.keys(await import('../src/index.js')).sort();
    const installed = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "console.log(JSON.stringify(Object.keys(await import('hitwarden')).sort()))",
      ],
      { cwd: user, encoding: 'utf8' },
    );
    expect(JSON.parse(installed)).toEqual(sources);

    const help = execFileSync(join(user, 'node_modules/.bin/hitwarden'), ['--help'], {
      encoding: 'utf8',
    });
    expect(help).toContain('Usage: hitwarden');
    expect(help).toContain('demo');

    // The dashboard ships built: the service serves these files from the installed package.
    const web = join(user, 'node_modules/hitwarden/dist/web');
    for (const file of ['index.html', 'assets/app.js', 'assets/app.css', 'assets/favicon.svg']) {
      expect(existsSync(join(web, file)), file).toBe(true);
    }
  });
});
