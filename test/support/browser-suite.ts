import { accessSync, constants } from 'node:fs';
import { describeNeeding } from './component-suite.js';
import { findBinary } from './redis-server.js';

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
  const missing =
    CHROMIUM === undefined ? 'chromium not found (Debian: apt-get install chromium)' : undefined;
  describeNeeding(name, missing, 'HITWARDEN_REQUIRE_BROWSER', () => body(CHROMIUM ?? ''));
}
