import { createServer } from 'node:http';
import { hitwarden } from 'hitwarden/node';
import { type BuildServer, HELLO, nodeServer } from '../contract.js';
import { BENCH_BANS } from '../hitwarden-bans.js';
import { hitwardenTrust } from '../proxy.js';

const BODY = JSON.stringify(HELLO);
const LENGTH = String(Buffer.byteLength(BODY));

/** node:http with hitwarden's ward in front of the hello route. */
export const build: BuildServer = async (context) => {
  const ward = hitwarden({ bans: BENCH_BANS, trustProxy: hitwardenTrust(context) });
  return nodeServer(
    createServer(async (req, res) => {
      if (!(await ward(req, res))) return;
      if (req.method === 'GET' && req.url === '/hello') {
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
};
