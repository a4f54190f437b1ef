/*
 * What the admin commands print: a table for a person (aligned columns, numbers to the
 * right), CSV for a spreadsheet (RFC 4180 quoting), or JSON for a program (the command's own
 * value, not the table's rows).
 */

export type Format = 'table' | 'json' | 'csv';

export interface Column<Row> {
  readonly title: string;
  readonly value: (row: Row) => string | number | boolean | null;
}

export function render<Row>(
  format: Format,
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  json: unknown,
): string {
  if (format === 'json') return `${JSON.stringify(json, null, 2)}\n`;
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  if (format === 'csv') {
    const lines = [columns.map((c) => csvCell(c.title)), ...cells.map((r) => r.map(csvCell))];
    return `${lines.map((line) => line.join(',')).join('\n')}\n`;
  }
  if (rows.length === 0) return '(none)\n';
  const text = cells.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...text.map((row) => row[i]!.length)),
  );
  const numeric = columns.map((_, i) => cells.every((row) => typeof row[i] === 'number'));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.title)), ...text.map(line)].join('\n')}\n`;
}

function csvCell(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
