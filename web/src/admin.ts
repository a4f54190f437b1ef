/**
 * The admin token, held in this page's memory only: never written to localStorage,
 * sessionStorage or a cookie, so it is gone when the tab closes or reloads. The one input
 * that asks for it feeds this object; the ban form and the lift buttons read it from here.
 */
export class AdminSession {
  private token = '';

  constructor(private readonly input: HTMLInputElement) {
    input.addEventListener('input', () => {
      this.token = input.value;
    });
  }

  /** The token, or undefined (with the input focused so the user sees what is missing). */
  require(): string | undefined {
    if (this.token === '') {
      this.input.focus();
      return undefined;
    }
    return this.token;
  }

  /** After a 401: the token in memory is wrong, so drop it and ask again. */
  refused(): void {
    this.token = '';
    this.input.value = '';
    this.input.focus();
  }
}
