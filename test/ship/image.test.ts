/**
 * "Image build & start" without a Docker engine, on this machine's Node: the Dockerfile's own build
 * stage replayed in a clean copy of the build context (offline pnpm install from the local store,
 * build, production deploy), then its start command with a temporary data folder and ephemeral ports.
 */
import { describe } from 'vitest';
import { imageSuite } from './lib/image-suite.js';

describe('image build & start (this machine\'s Node)', () => {
  imageSuite({ node: async () => process.execPath, buildTimeoutMs: 150_000 });
});
