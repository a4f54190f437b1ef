import { createServer } from 'node:http';
import { type BuildServer, HELLO, nodeServer } from '../contract.js';

const BODY = JSON.stringify(HELLO);
const LENGTH = String(Buffer.byteLength(BODY));

/** node:http with the hello route by hand: the baseline of the node:http contenders. */
export const build: BuildServer = async () =>
  nodeServer(
    createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/hello') {
        // content-length as the frameworks send it, so no contender pays for chunking.
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': LENGTH,
        });
        res.end(BODY);
      } else {
        res.writeHead(404).end();
      }
    }),
  );
