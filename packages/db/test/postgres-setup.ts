import type { TestProject } from 'vitest/node';
// @ts-expect-error -- a plain ES module without types, shared with the benchmarks
import { startPostgresCluster } from '../../../scripts/postgres-cluster.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway cluster's maintenance database (postgres://ferry@127.0.0.1:port/postgres). */
    postgresUrl: string;
  }
}

/** Starts the project's PostgreSQL cluster; a machine without PostgreSQL fails the project (scripts/test.sh installs it). */
export default async function setup(project: TestProject): Promise<() => void> {
  const cluster = (await startPostgresCluster()) as { url: string; stop(): void };
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}
