/*
 * The command line every benchmark runner reads: `--name=value` or `--name value`, and flags.
 * `--quick` is a smoke run everywhere: small sizes, one round, results in <name>-quick.*.
 */

export function flag(name: string, argv: readonly string[] = process.argv.slice(2)): boolean {
  return argv.includes(`--${name}`);
}

export function option(
  name: string,
  fallback: string,
  argv: readonly string[] = process.argv.slice(2),
): string {
  const key = `--${name}`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith(`${key}=`)) return arg.slice(key.length + 1);
    if (arg === key) return argv[i + 1] ?? fallback;
  }
  return fallback;
}

/** A positive whole-number option; a wrong value stops the run with a line that says which. */
export function countOption(
  name: string,
  fallback: number,
  argv: readonly string[] = process.argv.slice(2),
): number {
  const text = option(name, String(fallback), argv);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`--${name} wants a positive whole number, not ${JSON.stringify(text)}`);
  }
  return value;
}
