import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/*
 * `hitwarden serve` as a user runs it: the built CLI (dist/, what the package ships, with the
 * dashboard in dist/web/) in a child process. Its URL is read from the line it prints on
 * stderr; everything it writes is kept for the failure message.
 */

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const WEB = new URL('../../dist/web/index.html', import.meta.url).pathname;
/** Every service started here, killed on exit if a test forgot (or crashed). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The environment less every HITWARDEN_* setting of the serve command (flags say it all). */
function serviceEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('HITWARDEN_') && !name.startsWith('HITWARDEN_REQUIRE_')) delete env[name];
  }
  return env;
}

export class ServiceProcess {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly output: string[],
  ) {}

  /** Starts `hitwarden serve ...args` and resolves once it says where it listens. */
  static start(args: readonly string[], timeoutMs = 30_000): Promise<ServiceProcess> {
    if (!existsSync(CLI) || !existsSync(WEB)) {
      throw new Error(`${CLI} or ${WEB} missing: run \`npm run build\` first`);
    }
    const child = spawn(process.execPath, [CLI, 'serve', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: serviceEnv(),
    });
    live.add(child);
    const output: string[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`hitwarden serve did not start in ${timeoutMs} ms:\n${output.join('')}`));
      }, timeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => {
        output.push(chunk.toString());
        const match = /dashboard at (http:\/\/\S+?)\/? \(/.exec(output.join(''));
        if (match !== null) {
          clearTimeout(timer);
          resolve(new ServiceProcess(match[1]!, child, output));
        }
      });
      child.once('exit', (code, signal) => {
        live.delete(child);
        clearTimeout(timer);
        reject(new Error(`hitwarden serve exited (${code ?? signal}):\n${output.join('')}`));
      });
    });
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** What the process wrote so far (pino's JSON lines and the CLI's own). */
  get log(): string {
    return this.output.join('');
  }

  /** SIGTERM, as an operator stops it; resolves with the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) {
      return Promise.resolve(child.exitCode);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        live.delete(child);
        resolve(code);
      });
      child.kill('SIGTERM');
    });
  }
}
