import type { TopBody, TopRow } from './contract.js';
import { el, setText } from './dom.js';
import { formatCount, formatShare } from './format.js';

interface RowCells {
  row: HTMLTableRowElement;
  rank: HTMLTableCellElement;
  ip: HTMLTableCellElement;
  count: HTMLTableCellElement;
  shareText: HTMLSpanElement;
  shareBar: HTMLSpanElement;
  status: HTMLTableCellElement;
}

/**
 * The live top-100: one table row per client, rows kept and rewritten in place (a snapshot
 * a second would otherwise rebuild 100 rows and lose the reader's text selection each time).
 */
export class TopTable {
  private readonly rows: RowCells[] = [];

  constructor(
    private readonly body: HTMLTableSectionElement,
    private readonly empty: HTMLElement,
  ) {}

  update(top: TopBody): void {
    while (this.rows.length < top.rows.length) this.rows.push(this.makeRow());
    // Bars are scaled to the busiest client: at a few percent each, absolute shares would
    // all be slivers.
    const widest = top.rows[0]?.share ?? 0;
    for (const [i, data] of top.rows.entries()) this.fill(this.rows[i]!, data, i, widest);
    for (let i = top.rows.length; i < this.rows.length; i++) this.rows[i]!.row.hidden = true;
    this.empty.hidden = top.rows.length > 0;
  }

  private makeRow(): RowCells {
    const rank = el('td', { className: 'num rank' });
    const ip = el('td', { className: 'addr' });
    const count = el('td', { className: 'num' });
    const shareText = el('span', { className: 'share-text' });
    const shareBar = el('span', { className: 'share-bar' });
    shareBar.setAttribute('aria-hidden', 'true');
    const share = el('td', { className: 'num share' }, shareBar, shareText);
    const status = el('td', { className: 'status' });
    const row = el('tr', {}, rank, ip, count, share, status);
    this.body.append(row);
    return { row, rank, ip, count, shareText, shareBar, status };
  }

  private fill(cells: RowCells, data: TopRow, index: number, widest: number): void {
    cells.row.hidden = false;
    cells.row.classList.toggle('banned', data.banned);
    setText(cells.rank, String(index + 1));
    setText(cells.ip, data.ip);
    setText(cells.count, formatCount(data.count));
    setText(cells.shareText, formatShare(data.share));
    const scaled = widest > 0 ? data.share / widest : 0;
    const width = `${Math.min(100, Math.max(0, scaled * 100)).toFixed(1)}%`;
    if (cells.shareBar.style.width !== width) cells.shareBar.style.width = width;
    if (data.banned) {
      if (cells.status.firstElementChild === null) {
        cells.status.replaceChildren(
          el('span', { className: 'badge badge-banned', text: 'banned' }),
        );
      }
    } else if (cells.status.firstChild !== null) {
      cells.status.replaceChildren();
    }
  }
}
