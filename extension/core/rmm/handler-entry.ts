/**
 * Returns the zero-based line of an RMI command's entry in TF-RMM's `runtime/core/handler.c`
 * table, for each macro shape across versions: `HANDLER(REC_CREATE, ...)` (v0.3.0 and later)
 * and `HANDLER_3(REC_CREATE, ...)` (v0.1.0 to v0.2.0). The command is the name without its
 * `SMC_RMM_` or `SMC_RMI_` prefix.
 */
export function findHandlerEntry(text: string, command: string): number | undefined {
  if (!/^[A-Z0-9_]+$/.test(command)) return undefined;
  const entry = new RegExp(`\\bHANDLER(?:_\\d)?\\s*\\(\\s*(?:SMC_RM[MI]_)?${command}\\s*,`);
  const lines = text.split('\n');
  const index = lines.findIndex((line) => entry.test(line));
  return index >= 0 ? index : undefined;
}

/** Returns the RMI command names in a console line, without their `SMC_RMM_`/`SMC_RMI_` prefix. */
export function findRmiCommands(line: string): { name: string; start: number; length: number }[] {
  return [...line.matchAll(/\bSMC_RM[MI]_([A-Z0-9_]+)\b/g)].map((match) => ({
    name: match[1] ?? '',
    start: match.index,
    length: match[0].length,
  }));
}
