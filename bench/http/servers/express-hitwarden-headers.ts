import { createServer } from 'node:http';
import express from 'express';
import { hitwarden } from 'hitwarden/express';
import { type BuildServer, HELLO, nodeServer } from '../contract.js';
import { BENCH_BANS } from '../hitwarden-bans.js';
import { expressTrust, hitwardenTrust } from '../proxy.js';

/** Express 5 with hitwarden sending the RateLimit fields on every response, as
 *  express-rate-limit does by default. */
export const build: BuildServer = async (context) => {
  const app = express();
  expressTrust(app, context);
  app.use(hitwarden({ bans: BENCH_BANS, trustProxy: hitwardenTrust(context), headers: 'all' }));
  app.get('/hello', (_req, res) => {
    res.json(HELLO);
  });
  return nodeServer(createServer(app));
};
