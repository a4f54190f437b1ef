import { createServer } from 'node:http';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { type BuildServer, HELLO, nodeServer } from '../contract.js';
import { expressTrust } from '../proxy.js';

/**
 * Express's usual limiter, as its README sets it up (in-memory store, draft-8 `RateLimit`
 * headers on every response, no legacy `X-RateLimit-*`), with a limit no run reaches.
 */
export const build: BuildServer = async (context) => {
  const app = express();
  expressTrust(app, context);
  app.use(
    rateLimit({
      windowMs: 60_000,
      limit: 1_000_000_000,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
    }),
  );
  app.get('/hello', (_req, res) => {
    res.json(HELLO);
  });
  return nodeServer(createServer(app));
};
