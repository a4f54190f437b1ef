import { createServer } from 'node:http';
import express from 'express';
import { type BuildServer, HELLO, nodeServer } from '../contract.js';
import { expressTrust } from '../proxy.js';

/** Express 5 with the hello route and nothing else: the baseline of every Express contender. */
export const build: BuildServer = async (context) => {
  const app = express();
  expressTrust(app, context);
  app.get('/hello', (_req, res) => {
    res.json(HELLO);
  });
  return nodeServer(createServer(app));
};
