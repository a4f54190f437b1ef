import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Property tests and the growth tests push millions of operations; the default 5 s is
    // too tight for a shared 2-core machine, and a timeout here says nothing about speed.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
