import { accessSync, constants } from 'node:fs';
import { describe, it } from 'vitest';
import { findBinary } from './redis-server.js';

const REQUIRED = process.env.HITWARDEN_REQUIRE_BROWSER === '1';

/**
 * Debian's Chromium, the one browser the browser tests drive (playwright-core with this
 * `executablePath`; never a browser downloaded by Playwright). Undefined when not installed.
 */
export const CHROMIUM = isExecutable('/usr/bin/chromium')
  ? '/usr/bin/chromium'
  : findBinary('chromium');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` for a suite that needs a real headless Chromium. Without one the suite is
 * skipped with a loud warning, or fails when `HITWARDEN_REQUIRE_BROWSER=1` (CI, which
 * installs it).
 */
export function describeWithBrowser(name: string, body: (chromium: string) => void): void {
  if (CHROMIUM !== undefined) {
    describe(name, () => body(CHROMIUM));
    return;
  }
  const why =
    'chromium not found (Debian: apt-get install chromium); ' +
    `the browser suite "${name}" cannot run`;
  if (REQUIRED) {
    describe(name, () => {
      it('needs chromium (HITWARDEN_REQUIRE_BROWSER=1)', () => {
        throw new Error(why);
      });
    });
    return;
  }
  console.warn(
    `\n!!!!!!!! SKIPPED: ${why}. Set HITWARDEN_REQUIRE_BROWSER=1 to fail instead. !!!!!!!!\n`,
  );
  describe.skip(name, () => body(''));
}
