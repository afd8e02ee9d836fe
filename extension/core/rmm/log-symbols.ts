import { parseRmiLogLine, type RmiLogLine } from './log-line';

/** Lines of an RMM log that belong to one REC (realm execution context). */
export interface RecSymbol {
  /** Address of the REC granule, in hex as printed. */
  rec: string;
  /** Zero-based line of the first and the last call that names this REC. */
  firstLine: number;
  lastLine: number;
  /** Line of the REC_CREATE that made it, when the log has it. */
  createdLine: number | undefined;
  destroyedLine: number | undefined;
  /** Number of RMI calls that name this REC; REC_ENTER calls separately. */
  calls: number;
  enters: number;
}

/** Lines of an RMM log that belong to one realm, named by its RD (realm descriptor) address. */
export interface RealmSymbol {
  /** Address of the RD granule in hex as printed, or undefined for RECs whose realm is unknown. */
  rd: string | undefined;
  firstLine: number;
  lastLine: number;
  createdLine: number | undefined;
  activatedLine: number | undefined;
  destroyedLine: number | undefined;
  calls: number;
  recs: RecSymbol[];
}

// Commands whose first argument is the RD in every TF-RMM version.
const RD_FIRST = new Set(['REALM_CREATE', 'REALM_ACTIVATE', 'REALM_DESTROY', 'REC_AUX_COUNT']);
// Commands whose first argument is the REC in every TF-RMM version.
const REC_FIRST = new Set(['REC_ENTER', 'REC_DESTROY']);

/**
 * Groups the RMI calls of an RMM log by realm and REC.
 *
 * An RD is known from REALM_CREATE, REALM_ACTIVATE, REALM_DESTROY or REC_AUX_COUNT anywhere in
 * the log, and a REC from REC_ENTER or REC_DESTROY. REC_CREATE names both, in an order that
 * changed between RMM specification drafts, so the argument that is a known RD is the RD and the
 * other of the first two is the REC. Any other call joins the REC or realm whose address it
 * carries; a call that carries none stays outside every group.
 */
export function groupRmmLog(lines: readonly string[]): RealmSymbol[] {
  const calls = lines.map((text) => parseRmiLogLine(text));
  const rds = new Set<string>();
  for (const call of calls) {
    if (call && RD_FIRST.has(call.command) && call.args[0]) rds.add(key(call.args[0].value));
  }

  const realms = new Map<string, RealmSymbol>();
  const recs = new Map<string, { realm: RealmSymbol; symbol: RecSymbol }>();
  const orphans: RealmSymbol = newRealm(undefined, 0);

  const realmFor = (rd: string, line: number): RealmSymbol => {
    let realm = realms.get(rd);
    if (!realm) {
      realm = newRealm(rd, line);
      realms.set(rd, realm);
    }
    touch(realm, line);
    return realm;
  };
  const recFor = (rec: string, realm: RealmSymbol, line: number): RecSymbol => {
    let entry = recs.get(rec);
    if (!entry) {
      entry = { realm, symbol: newRec(rec, line) };
      recs.set(rec, entry);
      realm.recs.push(entry.symbol);
    }
    touch(entry.symbol, line);
    if (entry.realm !== orphans) touch(entry.realm, line);
    return entry.symbol;
  };

  for (const [line, call] of calls.entries()) {
    if (!call) continue;
    const args = call.args.map((arg) => key(arg.value));
    if (call.command === 'REC_CREATE' && args.length >= 2) {
      const rdIndex = args.findIndex((arg, i) => i < 2 && rds.has(arg));
      if (rdIndex >= 0) {
        const realm = realmFor(args[rdIndex] ?? '', line);
        realm.calls += 1;
        const rec = recFor(args[1 - rdIndex] ?? '', realm, line);
        rec.createdLine ??= line;
        rec.calls += 1;
        continue;
      }
    }
    if (REC_FIRST.has(call.command) && args[0] !== undefined) {
      const known = recs.get(args[0]);
      const rec = recFor(args[0], known?.realm ?? orphans, line);
      rec.calls += 1;
      if (call.command === 'REC_ENTER') rec.enters += 1;
      else rec.destroyedLine = line;
      if (known && known.realm !== orphans) known.realm.calls += 1;
      continue;
    }
    if (RD_FIRST.has(call.command) && args[0] !== undefined) {
      const realm = realmFor(args[0], line);
      realm.calls += 1;
      markRealm(realm, call, line);
      continue;
    }
    attribute(args, line);
  }

  function attribute(args: string[], line: number): void {
    const rec = args.map((arg) => recs.get(arg)).find((entry) => entry !== undefined);
    if (rec) {
      recFor(rec.symbol.rec, rec.realm, line).calls += 1;
      if (rec.realm !== orphans) rec.realm.calls += 1;
      return;
    }
    const rd = args.find((arg) => realms.has(arg) || rds.has(arg));
    if (rd !== undefined) realmFor(rd, line).calls += 1;
  }

  const result = [...realms.values()];
  if (orphans.recs.length > 0) {
    orphans.firstLine = Math.min(...orphans.recs.map((rec) => rec.firstLine));
    orphans.lastLine = Math.max(...orphans.recs.map((rec) => rec.lastLine));
    result.push(orphans);
  }
  return result.sort((a, b) => a.firstLine - b.firstLine);
}

function key(value: bigint): string {
  return value.toString(16);
}

function newRealm(rd: string | undefined, line: number): RealmSymbol {
  return {
    rd,
    firstLine: line,
    lastLine: line,
    createdLine: undefined,
    activatedLine: undefined,
    destroyedLine: undefined,
    calls: 0,
    recs: [],
  };
}

function newRec(rec: string, line: number): RecSymbol {
  return {
    rec,
    firstLine: line,
    lastLine: line,
    createdLine: undefined,
    destroyedLine: undefined,
    calls: 0,
    enters: 0,
  };
}

function touch(symbol: { firstLine: number; lastLine: number }, line: number): void {
  symbol.firstLine = Math.min(symbol.firstLine, line);
  symbol.lastLine = Math.max(symbol.lastLine, line);
}

function markRealm(realm: RealmSymbol, call: RmiLogLine, line: number): void {
  if (call.command === 'REALM_CREATE') realm.createdLine ??= line;
  else if (call.command === 'REALM_ACTIVATE') realm.activatedLine ??= line;
  else if (call.command === 'REALM_DESTROY') realm.destroyedLine = line;
}
