import * as vscode from 'vscode';

/** The stack command that rebuilds only the RMM, then packages fip.bin (registered by the Stack view). */
export const rebuildRmmCommand = 'ccaRealmStudio.stack.rebuildRmm';

const rebuildChoice = 'Rebuild RMM and fip.bin';

/**
 * Tells the user that a handler.c change takes effect only after a rebuild, and runs the Stack
 * view's RMM rebuild when they ask. Resolves with whether the rebuild was started.
 */
export async function offerRmmRebuild(log: vscode.LogOutputChannel): Promise<boolean> {
  const choice = await vscode.window.showInformationMessage(
    'RMI log flags changed in handler.c. They take effect after rebuilding the RMM and the ' +
      'firmware package (fip.bin), and the RMM prints logs only in a Debug build (LOG_LEVEL 40).',
    rebuildChoice,
  );
  if (choice !== rebuildChoice) return false;
  log.info('handler.c changed: rebuilding the RMM and fip.bin');
  await vscode.commands.executeCommand(rebuildRmmCommand);
  return true;
}

/** Registers the command that the language server's code actions run after their edit. */
export function registerAfterEditCommand(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('ccaRealmStudio.rmi.afterEdit', () => offerRmmRebuild(log)),
  );
}
