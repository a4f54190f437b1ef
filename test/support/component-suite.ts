import { describe, it } from 'vitest';

/**
 * `describe` for a suite that needs a real component on this machine (redis-server, Chromium).
 * When `missing` says what is absent, the suite is skipped with a loud warning, or fails when
 * the environment variable `required` is `1` (CI, which installs the component).
 */
export function describeNeeding(
  name: string,
  missing: string | undefined,
  required: string,
  body: () => void,
): void {
  if (missing === undefined) {
    describe(name, body);
    return;
  }
  const why = `${missing}; the suite "${name}" cannot run`;
  if (process.env[required] === '1') {
    describe(name, () => {
      it(`needs what is missing (${required}=1)`, () => {
        throw new Error(why);
      });
    });
    return;
  }
  console.warn(`\n!!!!!!!! SKIPPED: ${why}. Set ${required}=1 to fail instead. !!!!!!!!\n`);
  describe.skip(name, body);
}
