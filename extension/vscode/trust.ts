import * as vscode from 'vscode';

/**
 * Returns true in a trusted workspace. Otherwise shows why `action` does not run (it would
 * start a process or edit a file of the workspace) and returns false.
 */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showErrorMessage(
    `${action} runs only in a trusted workspace: it starts processes and writes files there. ` +
      'Use "Workspaces: Manage Workspace Trust" to trust this folder.',
  );
  return false;
}
