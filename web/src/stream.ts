import type { Snapshot } from './contract.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting';

export interface StreamHandlers {
  /** `first`: the first snapshot of this connection (it carries the full series). */
  snapshot(snapshot: Snapshot, first: boolean): void;
  state(state: StreamState): void;
  /** The stream is back after a drop: whatever was missed must be fetched again. */
  reconnected(): void;
}

/** Snapshots arrive about once a second; this long without one means the stream is stuck. */
const STALL_MS = 5000;
/** When the browser gives up on an EventSource (it does on a non-200 answer), retry this late. */
const REOPEN_MS = [1000, 2000, 5000, 10_000] as const;

/**
 * /api/stream as a live feed that survives drops. EventSource reconnects by itself after a
 * network error (after the server's `retry: 2000`), but not after an answer that is not an
 * event stream (a 502 from a proxy, a restart that answers 503), and never notices a
 * connection that stays open but goes silent. So: a closed source is reopened here with a
 * growing delay, and a stall watchdog reopens one that has sent nothing for STALL_MS.
 */
export class LiveStream {
  private source: EventSource | undefined;
  private state: StreamState = 'connecting';
  private receivedOnThisConnection = false;
  private everLive = false;
  private failures = 0;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private reopenTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    this.open();
  }

  private open(): void {
    this.close();
    const source = new EventSource(this.url);
    this.source = source;
    this.receivedOnThisConnection = false;
    source.addEventListener('open', () => {
      if (source !== this.source) return;
      this.armWatchdog();
    });
    source.addEventListener('snapshot', (event) => {
      if (source !== this.source) return;
      let snapshot: Snapshot;
      try {
        snapshot = JSON.parse((event as MessageEvent<string>).data) as Snapshot;
      } catch {
        return; // a torn line is dropped; the next snapshot comes within a second
      }
      const first = !this.receivedOnThisConnection;
      this.receivedOnThisConnection = true;
      this.failures = 0;
      this.armWatchdog();
      if (first && this.everLive) this.handlers.reconnected();
      this.everLive = true;
      this.setState('live');
      this.handlers.snapshot(snapshot, first);
    });
    source.addEventListener('error', () => {
      if (source !== this.source) return;
      this.setState(this.everLive ? 'reconnecting' : 'connecting');
      // A new connection's first snapshot is a full one again.
      this.receivedOnThisConnection = false;
      if (source.readyState === EventSource.CLOSED) this.scheduleReopen();
    });
    this.armWatchdog();
  }

  private scheduleReopen(): void {
    clearTimeout(this.reopenTimer);
    const delay = REOPEN_MS[Math.min(this.failures, REOPEN_MS.length - 1)]!;
    this.failures++;
    this.reopenTimer = setTimeout(() => this.open(), delay);
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.setState(this.everLive ? 'reconnecting' : 'connecting');
      this.scheduleReopen();
    }, STALL_MS);
  }

  private setState(state: StreamState): void {
    if (state === this.state) return;
    this.state = state;
    this.handlers.state(state);
  }

  close(): void {
    clearTimeout(this.watchdog);
    clearTimeout(this.reopenTimer);
    this.source?.close();
    this.source = undefined;
  }
}
