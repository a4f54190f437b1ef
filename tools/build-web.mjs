// Builds the dashboard (web/) into dist/web/: index.html, and under assets/ the page's script
// (web/src/main.ts with uPlot, bundled into one ES module), its stylesheet (web/styles.css
// with uPlot's CSS inlined) and the icon. The service serves this folder as it is; nothing in
// it refers to anything outside the service. esbuild bundles only: the types are checked by
// `npm run typecheck` (web/tsconfig.json).
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const out = join(root, 'dist', 'web');
const assets = join(out, 'assets');

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

await build({
  absWorkingDir: root,
  // app.js and app.css: two entries may share a name when their extensions differ.
  entryPoints: [
    { in: join(web, 'src', 'main.ts'), out: 'app' },
    { in: join(web, 'styles.css'), out: 'app' },
  ],
  outdir: assets,
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  // uPlot's MIT licence asks for its notice in every copy: it ships beside the bundle.
  banner: { js: '/*! includes uPlot (MIT licence, see uPlot.LICENSE.txt) */' },
  logLevel: 'warning',
  tsconfig: join(web, 'tsconfig.json'),
});

cpSync(join(web, 'index.html'), join(out, 'index.html'));
cpSync(createRequire(import.meta.url).resolve('uplot/LICENSE'), join(assets, 'uPlot.LICENSE.txt'));
for (const file of readdirSync(join(web, 'assets'))) {
  cpSync(join(web, 'assets', file), join(assets, file));
}

// index.html names its assets by path; a rename that forgets it would ship a blank page.
const html = readFileSync(join(out, 'index.html'), 'utf8');
for (const [, path] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
  if (!path.startsWith('/assets/')) {
    if (path.startsWith('#')) continue;
    throw new Error(`build-web: index.html refers to ${path}, outside /assets/`);
  }
  readFileSync(join(out, path)); // throws ENOENT when missing
}
