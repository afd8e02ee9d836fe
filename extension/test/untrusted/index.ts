// Test index for an untrusted workspace (restricted mode): scripts/vscode-test/integration.mjs
// opens the workspace with workspace trust on and loads this file in the extension host.
import { runMochaTests } from '../integration/index';

/** Runs the tests of this folder. */
export function run(): Promise<void> {
  return runMochaTests(__dirname);
}
