// Types of code-server.mjs for the TypeScript tests that import it (the e2e tests).
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM_ARGS: readonly string[];

export function findFreePort(): Promise<number>;

export function installExtension(options: {
  vsixPath: string;
  extensionsDir: string;
  userDataDir: string;
  stateDir: string;
}): Promise<string>;

export interface CodeServer {
  url: string;
  port: number;
  logPath: string;
  /** Resolves with the exit code or signal when the server exits. */
  exit: Promise<number | string>;
  isRunning(): boolean;
  stop(): Promise<void>;
}

export function startCodeServer(options: {
  workspace: string;
  extensionsDir: string;
  userDataDir: string;
  installVsix?: string;
  smokeTestDriver?: boolean;
  stateDir?: string;
  /** Laid over the inherited environment; an undefined value removes a variable. */
  env?: Record<string, string | undefined>;
  /** Leaves workspace trust on, so that the folder opens in restricted mode. */
  workspaceTrust?: boolean;
}): Promise<CodeServer>;

/** Stops a process group and the descendants of its leader that left it. */
export function stopProcessTree(groupId: number): Promise<void>;

export interface Chromium {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export function launchChromium(options?: {
  viewport?: { width: number; height: number };
}): Promise<Chromium>;
