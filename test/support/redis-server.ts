import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/*
 * Real redis-server processes for the Redis suites: each on a free port of 127.0.0.1, in a temp
 * directory of its own, with persistence off. Nothing here ever connects to a port it did not
 * start a server on, so a Redis someone else runs (on 6379 or anywhere) is never touched.
 */

const run = promisify(execFile);

/** Absolute path of `name` on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const REDIS_SERVER = findBinary('redis-server');
export const REDIS_CLI = findBinary('redis-cli');
/** Every server started by this process, killed on exit if a test forgot (or crashed). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A port that is free on 127.0.0.1 now (and, with `bus`, also port + 10000 for a cluster). */
export async function freePort(bus = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = bus ? 20_000 + Math.floor(Math.random() * 30_000) : await ephemeralPort();
    if ((await portFree(port)) && (!bus || (await portFree(port + 10_000)))) return port;
  }
  throw new Error('no free port found');
}

function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * One command to 127.0.0.1:`port` over a fresh socket, for readiness polls and fault setup.
 * Understands the reply types those need (simple string, error, integer, bulk string).
 */
export function command(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffer = Buffer.alloc(0);
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(2_000, () => fail(new Error(`redis on ${port}: no reply`)));
    socket.once('error', fail);
    socket.once('close', () => reject(new Error(`redis on ${port}: connection closed`)));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const reply = parseReply(buffer);
      if (reply === undefined) return;
      socket.destroy();
      if (reply.error) reject(new Error(reply.text));
      else resolve(reply.text);
    });
    socket.connect(port, '127.0.0.1', () => {
      let out = `*${args.length}\r\n`;
      for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
      socket.write(out);
    });
  });
}

function parseReply(buffer: Buffer): { error: boolean; text: string } | undefined {
  const parsed = parseAt(buffer, 0);
  return parsed === undefined ? undefined : parsed.reply;
}

/** A flat array reply becomes its elements joined by newlines. */
function parseAt(
  buffer: Buffer,
  start: number,
): { reply: { error: boolean; text: string }; next: number } | undefined {
  const end = buffer.indexOf('\r\n', start);
  if (end < 0) return undefined;
  const head = buffer.toString('utf8', start + 1, end);
  switch (String.fromCharCode(buffer[start]!)) {
    case '+':
    case ':':
      return { reply: { error: false, text: head }, next: end + 2 };
    case '-':
      return { reply: { error: true, text: head }, next: end + 2 };
    case '$': {
      const length = Number(head);
      if (length < 0) return { reply: { error: false, text: '' }, next: end + 2 };
      if (buffer.length < end + 2 + length + 2) return undefined;
      const text = buffer.toString('utf8', end + 2, end + 2 + length);
      return { reply: { error: false, text }, next: end + 2 + length + 2 };
    }
    case '*': {
      const items: string[] = [];
      let next = end + 2;
      for (let i = 0; i < Number(head); i++) {
        const item = parseAt(buffer, next);
        if (item === undefined) return undefined;
        items.push(item.reply.text);
        next = item.next;
      }
      return { reply: { error: false, text: items.join('\n') }, next };
    }
    default:
      return {
        reply: { error: true, text: `unexpected reply ${JSON.stringify(buffer.toString())}` },
        next: buffer.length,
      };
  }
}

/** Polls `check` until it returns true (errors count as "not yet"). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface RedisServerOptions {
  /** Extra `--name value` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: string[];
  /** Port to listen on; a free one when omitted. */
  port?: number;
}

/** A redis-server child process that can be stopped and started again on the same port. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(port: number, dir: string, args: string[]) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (REDIS_SERVER === undefined) throw new Error('redis-server not found on PATH');
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'hitwarden-redis-'));
    const server = new RedisServer(port, dir, options.args ?? []);
    try {
      await server.resume();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the server again after `halt` (same port, same directory), ready when resolved. */
  async resume(): Promise<void> {
    if (this.#child !== undefined) return;
    const child = spawn(
      REDIS_SERVER!,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--logfile',
        '',
        '--loglevel',
        'warning',
        ...this.#args,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    this.#child = child;
    live.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    await waitFor(`redis-server on port ${this.port}`, async () => {
      if (this.#child !== child) throw new Error(`redis-server exited: ${stderr.trim()}`);
      return (await command(this.port, 'PING')) === 'PONG';
    });
  }

  /**
   * Stops the server. With `save`, the data set is written to disk first and loaded again by
   * `resume()` (a restart that keeps the data); without it, a restart comes back empty.
   */
  async halt(options: { save?: boolean } = {}): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.thaw();
    if (options.save) {
      // SHUTDOWN SAVE drops the connection instead of replying.
      await command(this.port, 'SHUTDOWN', 'SAVE').catch(() => {});
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.#exited;
      clearTimeout(killer);
    } else {
      child.kill('SIGKILL');
      await this.#exited;
      // A server without persistence comes back empty, even after an earlier saving halt.
      rmSync(join(this.dir, 'dump.rdb'), { force: true });
    }
  }

  /**
   * Freezes the server with SIGSTOP: its sockets stay open and accept bytes, but nothing is
   * read, run or answered until `thaw()`. A hung Redis (a stalled VM, a long fork), as
   * opposed to one that is gone.
   */
  freeze(): void {
    if (this.#child === undefined) throw new Error('redis-server is not running');
    this.#child.kill('SIGSTOP');
  }

  /** Lets a frozen server run again: it then runs every command sent while it was frozen. */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Stops the server for good and removes its directory. */
  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three masters, no replicas, every slot assigned, ready when `start` resolves. */
export class RedisCluster {
  readonly nodes: RedisServer[];

  private constructor(nodes: RedisServer[]) {
    this.nodes = nodes;
  }

  static async start(masters = 3): Promise<RedisCluster> {
    if (REDIS_CLI === undefined) throw new Error('redis-cli not found on PATH');
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes);
    try {
      for (let i = 0; i < masters; i++) {
        nodes.push(
          await RedisServer.start({
            port: await freePort(true),
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--cluster-node-timeout',
              '2000',
            ],
          }),
        );
      }
      await run(REDIS_CLI, [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      for (const node of nodes) {
        await waitFor(`cluster_state:ok on ${node.port}`, async () => {
          const info = await command(node.port, 'CLUSTER', 'INFO');
          return (
            info.includes('cluster_state:ok') &&
            info.includes(`cluster_known_nodes:${masters}`) &&
            info.includes('cluster_slots_assigned:16384')
          );
        });
      }
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Start-up nodes for an ioredis `Cluster`. */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
