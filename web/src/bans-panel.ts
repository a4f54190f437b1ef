import type { Ban, BansBody } from './contract.js';
import { el, setText } from './dom.js';
import { formatClock, formatRemaining } from './format.js';

interface BanRow {
  row: HTMLTableRowElement;
  countdown: HTMLTableCellElement;
  until: number;
}

/** A change made here (a lift or a ban) that a snapshot taken before it must not undo. */
interface Pending {
  /** Server time (epoch ms, estimated) when the change was made. */
  at: number;
  /** The ban made, or null for a lift. */
  ban: Ban | null;
}

/**
 * The bans in force (the stream's first page of /api/bans), each with a countdown that
 * ticks locally between snapshots against the server's clock (`serverNow`), and a button to
 * lift it. A lift or ban made from this page shows at once; a snapshot older than that change
 * (already on its way when the change was made) is corrected instead of flickering it back.
 */
export class BansPanel {
  private rows = new Map<string, BanRow>();
  private readonly pending = new Map<string, Pending>();
  private last: BansBody = { bans: [], next: null };
  private lastTime = 0;

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly empty: HTMLElement,
    private readonly more: HTMLElement,
    private readonly serverNow: () => number,
    private readonly onLift: (token: string, button: HTMLButtonElement) => void,
    private liftEnabled: boolean,
  ) {}

  setLiftEnabled(enabled: boolean): void {
    this.liftEnabled = enabled;
    this.render();
  }

  /** A page of bans as of server time `time`. */
  update(bans: BansBody, time: number): void {
    this.last = bans;
    this.lastTime = time;
    for (const [token, change] of this.pending) if (change.at <= time) this.pending.delete(token);
    this.render();
  }

  lifted(token: string): void {
    this.pending.set(token, { at: this.serverNow(), ban: null });
    this.render();
  }

  banned(ban: Ban): void {
    this.pending.set(ban.token, { at: this.serverNow(), ban });
    this.render();
  }

  get count(): number {
    return this.visible().length;
  }

  /** Rewrites the countdowns; called a few times a second. */
  tick(): void {
    const now = this.serverNow();
    for (const row of this.rows.values()) setText(row.countdown, formatRemaining(row.until - now));
  }

  private visible(): Ban[] {
    const bans = this.last.bans.filter((ban) => {
      const change = this.pending.get(ban.token);
      return change === undefined || change.ban !== null;
    });
    for (const change of this.pending.values()) {
      if (change.ban === null || change.at <= this.lastTime) continue;
      const ban = change.ban;
      if (!bans.some((b) => b.token === ban.token && b.metric === ban.metric)) bans.push(ban);
    }
    return bans.sort((a, b) => a.until - b.until || compare(a.token, b.token));
  }

  private render(): void {
    const bans = this.visible();
    const next = new Map<string, BanRow>();
    const ordered: HTMLTableRowElement[] = [];
    for (const ban of bans) {
      const key = `${ban.metric}\u0000${ban.token}`;
      const row = this.rows.get(key) ?? this.makeRow(ban);
      this.refresh(row, ban);
      next.set(key, row);
      ordered.push(row.row);
    }
    for (const [key, row] of this.rows) if (!next.has(key)) row.row.remove();
    this.rows = next;
    // Re-append only when the order changed, so a focused lift button keeps its focus.
    const current = [...this.body.children];
    if (current.length !== ordered.length || ordered.some((row, i) => current[i] !== row)) {
      this.body.replaceChildren(...ordered);
    }
    this.empty.hidden = bans.length > 0;
    this.more.hidden = this.last.next === null;
    this.tick();
  }

  private makeRow(ban: Ban): BanRow {
    const lift = el('button', { className: 'lift', text: 'Lift' });
    lift.type = 'button';
    lift.setAttribute('aria-label', `Lift the ban on ${ban.token}`);
    lift.addEventListener('click', () => this.onLift(ban.token, lift));
    const countdown = el('td', { className: 'num countdown' });
    const row = el(
      'tr',
      {},
      el('td', { className: 'addr', text: ban.token }),
      el('td', { text: ban.metric }),
      el('td', { className: 'num', text: String(ban.threshold) }),
      countdown,
      el('td', { className: 'actions' }, lift),
    );
    return { row, countdown, until: ban.until };
  }

  private refresh(row: BanRow, ban: Ban): void {
    row.until = ban.until;
    row.countdown.title = `until ${formatClock(ban.until)}`;
    const lift = row.row.querySelector('button');
    if (lift !== null) lift.disabled = !this.liftEnabled;
    // The tier can change while the row lives (the token climbed a threshold).
    const tier = row.row.children[2] as HTMLTableCellElement | undefined;
    if (tier !== undefined) setText(tier, String(ban.threshold));
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
