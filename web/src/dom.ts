/*
 * The few DOM helpers the panels share. Text always goes in through textContent: tokens and
 * routes come from clients (a manual ban takes any string), so nothing from the service is
 * ever parsed as HTML.
 */

/** The element with this id, which index.html must have; a missing one is a build bug. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html: #${id} is not a ${type.name}`);
  return element;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; text?: string; title?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.className !== undefined) element.className = options.className;
  if (options.text !== undefined) element.textContent = options.text;
  if (options.title !== undefined) element.title = options.title;
  element.append(...children);
  return element;
}

/** Sets a node's text only when it changed (a live table rewrites 100 rows a second). */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
