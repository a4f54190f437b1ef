import type { AdminSession } from './admin.js';
import { ApiError, api } from './api.js';
import type { Ban, ConfigBody } from './contract.js';
import { el } from './dom.js';
import { describeThreshold, formatClock, formatSpan } from './format.js';

export interface BanFormElements {
  form: HTMLFormElement;
  fields: HTMLFieldSetElement;
  address: HTMLInputElement;
  metric: HTMLSelectElement;
  tier: HTMLSelectElement;
  submit: HTMLButtonElement;
  message: HTMLElement;
}

/**
 * Ban an address now (POST /admin/bans) at a metric and a tier of that metric, both read from
 * /api/config so only a ban the service accepts can be asked for. The admin token comes from
 * the AdminSession (memory only).
 */
export class BanForm {
  private metrics: ConfigBody['metrics'] = {};

  constructor(
    private readonly ui: BanFormElements,
    private readonly admin: AdminSession,
    private readonly onBanned: (ban: Ban) => void,
  ) {
    ui.metric.addEventListener('change', () => this.fillTiers());
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  configure(config: ConfigBody): void {
    this.metrics = config.metrics;
    const names = Object.keys(config.metrics).sort();
    const previous = this.ui.metric.value;
    this.ui.metric.replaceChildren(...names.map((name) => option(name, name)));
    if (names.includes(previous)) this.ui.metric.value = previous;
    this.fillTiers();
    this.ui.fields.disabled = !config.admin || names.length === 0;
    if (!config.admin) {
      say(
        this.ui.message,
        'Admin routes are off: start the service with --admin-token or HITWARDEN_ADMIN_TOKEN.',
        'info',
      );
    }
  }

  private fillTiers(): void {
    const thresholds = this.metrics[this.ui.metric.value] ?? [];
    this.ui.tier.replaceChildren(
      ...thresholds.map((threshold, i) => {
        // Short enough for the select; the full rule is the option's title.
        const shadow = threshold.mode === 'shadow' ? ' (shadow)' : '';
        const text = `${i}: over ${threshold.limit} in ${formatSpan(threshold.window)} → ${formatSpan(threshold.duration)} ban${shadow}`;
        const element = option(String(i), text);
        element.title = `Tier ${i}: ${describeThreshold(threshold)}${shadow}`;
        return element;
      }),
    );
  }

  private async submit(): Promise<void> {
    const token = this.ui.address.value.trim();
    if (token === '') {
      say(this.ui.message, 'Enter the address (or token) to ban.', 'error');
      this.ui.address.focus();
      return;
    }
    const adminToken = this.admin.require();
    if (adminToken === undefined) {
      say(this.ui.message, 'Enter the admin token first.', 'error');
      return;
    }
    const metric = this.ui.metric.value;
    const threshold = Number(this.ui.tier.value);
    this.ui.submit.disabled = true;
    say(this.ui.message, `Banning ${token}…`, 'info');
    try {
      const ban = await api.ban(adminToken, { token, metric, threshold });
      say(
        this.ui.message,
        `Banned ${ban.token} on ${ban.metric} tier ${ban.threshold} until ${formatClock(ban.until)}.`,
        'ok',
      );
      this.ui.address.value = '';
      this.onBanned({ ...ban, remaining_ms: Math.max(0, ban.until - Date.now()) });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.admin.refused();
      say(this.ui.message, errorText(error), 'error');
    } finally {
      this.ui.submit.disabled = false;
    }
  }
}

/** Writes a status line into an aria-live region; `kind` picks its colour. */
export function say(target: HTMLElement, text: string, kind: 'ok' | 'error' | 'info'): void {
  target.textContent = text;
  target.dataset.kind = kind;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'The admin token was refused: enter it again.';
    return `Refused: ${error.message}`;
  }
  return `Failed: ${String(error)}`;
}

function option(value: string, text: string): HTMLOptionElement {
  const element = el('option', { text });
  element.value = value;
  return element;
}
