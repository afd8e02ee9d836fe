import * as vscode from 'vscode';

/**
 * Returns true in a trusted workspace. Otherwise tells the user why `what` does not run (it
 * would start a process or edit a file of the workspace) and returns false.
 */
export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showErrorMessage(
    `${what} runs only in a trusted workspace: it starts processes and writes files there. ` +
      'Use "Workspaces: Manage Workspace Trust" to trust this folder.',
  );
  return false;
}
