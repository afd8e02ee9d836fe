import os from 'node:os';
import path from 'node:path';

/**
 * Resolves a path setting: `${workspaceFolder}` and a leading `~` are expanded, and a relative
 * path is taken from the workspace folder (from the home folder when no folder is open).
 */
export function resolveSettingPath(value: string, workspaceFolder: string | undefined): string {
  let expanded = value.trim();
  if (workspaceFolder) expanded = expanded.split('${workspaceFolder}').join(workspaceFolder);
  if (expanded === '~' || expanded.startsWith('~/')) {
    expanded = path.join(os.homedir(), expanded.slice(1));
  }
  return path.resolve(workspaceFolder ?? os.homedir(), expanded);
}
