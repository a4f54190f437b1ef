import { createServer } from 'node:http';
import express from 'express';
import { type BuildServer, HELLO, nodeServer } from '../contract.js';
import { expressTrust } from '../proxy.js';

/** Express 5 with one middleware that does nothing but call next(): what any middleware
 *  costs Express before it does any work (the floor under every Express limiter). */
export const build: BuildServer = async (context) => {
  const app = express();
  expressTrust(app, context);
  app.use((_req, _res, next) => {
    next();
  });
  app.get('/hello', (_req, res) => {
    res.json(HELLO);
  });
  return nodeServer(createServer(app));
};
