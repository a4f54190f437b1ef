import { argv } from 'node:process';
import { pathToFileURL } from 'node:url';

/** Whether the module at `url` is the script node was started with (so an example runs when
 *  executed, and only prints what a test asks for when imported). */
export function isMain(url: string): boolean {
  return argv[1] !== undefined && pathToFileURL(argv[1]).href === url;
}
