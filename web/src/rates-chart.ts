import uPlot from 'uplot';
import { el, setText } from './dom.js';
import { formatClock, formatCount } from './format.js';
import type { SeriesWindow } from './series-window.js';

/*
 * Colours for the routes, in column order: each at least 4.5:1 against the white panel
 * (WCAG AA for text, which the legend swatches sit beside) and told apart by hue.
 */
const PALETTE = [
  '#0b5cad',
  '#b3261e',
  '#1b7a36',
  '#8a5a00',
  '#6f42c1',
  '#a8326e',
  '#0a6b78',
  '#555f6b',
] as const;

const AXIS = { stroke: '#3d4550', grid: { stroke: '#e3e7ec', width: 1 }, ticks: { show: false } };

interface LegendItem {
  button: HTMLButtonElement;
  now: HTMLSpanElement;
  average: HTMLSpanElement;
}

/**
 * Hits per second per route, one uPlot line each, with a legend of our own beside it: the
 * latest rate and the window's average per route as text (what a screen reader gets of the
 * chart, which is a canvas), each entry a toggle button that hides or shows its line.
 * A new route rebuilds the chart (rare: the demo knows its routes); every other update is
 * one setData.
 */
export class RatesChart {
  private plot: uPlot | undefined;
  private routes: readonly string[] = [];
  private readonly hidden = new Set<string>();
  private legendItems: LegendItem[] = [];
  private width = 0;
  private readonly resize: ResizeObserver;
  private resizeFrame = 0;

  constructor(
    private readonly container: HTMLElement,
    private readonly legend: HTMLElement,
    private readonly empty: HTMLElement,
    /** The span the x axis always shows, so a young service's few seconds sit at the right. */
    private readonly windowSeconds: number,
    private readonly height = 220,
  ) {
    // Resizing inside the observer's callback can re-trigger it within the same frame (which
    // the browser reports as an error); a frame later it cannot.
    this.resize = new ResizeObserver(() => {
      cancelAnimationFrame(this.resizeFrame);
      this.resizeFrame = requestAnimationFrame(() => this.fitWidth());
    });
    this.resize.observe(this.container);
  }

  update(series: SeriesWindow, routesChanged: boolean): void {
    const data = series.data();
    this.empty.hidden = series.routes.length > 0 && series.size > 0;
    if (routesChanged || this.plot === undefined) this.rebuild(series.routes, data);
    else this.plot.setData(data);
    this.updateLegend(data);
  }

  private rebuild(routes: readonly string[], data: uPlot.AlignedData): void {
    this.plot?.destroy();
    this.routes = routes;
    this.width = this.container.clientWidth;
    const options: uPlot.Options = {
      width: Math.max(200, this.width),
      height: this.height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) =>
            Number.isFinite(max) ? [Math.min(min, max - this.windowSeconds + 1), max] : [min, max],
        },
        y: { range: (_u, _min, max) => [0, Number.isFinite(max) ? Math.max(5, max * 1.1) : 5] },
      },
      axes: [
        // 24-hour wall-clock ticks: the window is minutes long, a date on each tick is noise.
        { ...AXIS, space: 70, values: (_u, splits) => splits.map((s) => tickLabel(s)) },
        { ...AXIS, label: 'hits / s', size: 56 },
      ],
      series: [
        {},
        ...routes.map((route, i) => ({
          label: route,
          stroke: colourOf(i),
          width: 2,
          show: !this.hidden.has(route),
          points: { show: false },
        })),
      ],
    };
    this.plot = new uPlot(options, data, this.container);
    this.buildLegend();
  }

  private buildLegend(): void {
    this.legendItems = this.routes.map((route, i) => {
      const swatch = el('span', { className: 'swatch' });
      swatch.style.backgroundColor = colourOf(i);
      swatch.setAttribute('aria-hidden', 'true');
      const now = el('span', { className: 'legend-now' });
      const average = el('span', { className: 'legend-avg' });
      const button = el(
        'button',
        { className: 'legend-item', title: `Show or hide ${route} in the chart` },
        swatch,
        el('span', { className: 'legend-route', text: route }),
        now,
        average,
      );
      button.type = 'button';
      button.setAttribute('aria-pressed', String(!this.hidden.has(route)));
      button.addEventListener('click', () => this.toggle(route, i, button));
      return { button, now, average };
    });
    this.legend.replaceChildren(...this.legendItems.map((item) => el('li', {}, item.button)));
  }

  private toggle(route: string, index: number, button: HTMLButtonElement): void {
    const show = this.hidden.has(route);
    if (show) this.hidden.delete(route);
    else this.hidden.add(route);
    button.setAttribute('aria-pressed', String(show));
    this.plot?.setSeries(index + 1, { show });
  }

  private updateLegend(data: uPlot.AlignedData): void {
    this.legendItems.forEach((item, i) => {
      const column = (data[i + 1] ?? []) as (number | null)[];
      let latest: number | null = null;
      for (let j = column.length - 1; j >= 0 && latest === null; j--) latest = column[j] ?? null;
      let sum = 0;
      let known = 0;
      for (const value of column) {
        if (value === null) continue;
        sum += value;
        known++;
      }
      setText(item.now, `${formatCount(latest ?? 0)}/s`);
      setText(item.average, `avg ${(known === 0 ? 0 : sum / known).toFixed(1)}`);
    });
  }

  private fitWidth(): void {
    const width = this.container.clientWidth;
    if (this.plot === undefined || width === this.width || width === 0) return;
    this.width = width;
    this.plot.setSize({ width: Math.max(200, width), height: this.height });
  }
}

function tickLabel(seconds: number): string {
  const clock = formatClock(seconds * 1000);
  return clock.endsWith(':00') ? clock.slice(0, 5) : clock;
}

function colourOf(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}
