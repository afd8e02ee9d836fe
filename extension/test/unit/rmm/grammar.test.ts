import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import * as oniguruma from 'vscode-oniguruma';
import { INITIAL, parseRawGrammar, Registry, type IGrammar, type IToken } from 'vscode-textmate';
import { parseRmiLogLine, type TextRange } from '../../../core/rmm/log-line';
import { dataDir, repositoryRoot } from '../data';

// The scope-by-scope expectations live in the samples of extension/test/grammar/, which
// `npm run test:grammar` checks with vscode-tmgrammar-test. These tests hold the grammar to
// the parser that the hover and the diagnostics use: both must find the same parts of a line.

const grammarPath = path.join(repositoryRoot, 'syntaxes', 'rmm-log.tmLanguage.json');
const sampleDir = path.join(repositoryRoot, 'extension', 'test', 'grammar');
let grammar: IGrammar;

before(async () => {
  const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm);
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => oniguruma.createOnigScanner(patterns),
      createOnigString: (text) => oniguruma.createOnigString(text),
    }),
    loadGrammar: (scopeName) =>
      Promise.resolve(
        scopeName === 'source.rmm-log'
          ? parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath)
          : null,
      ),
  });
  const loaded = await registry.loadGrammar('source.rmm-log');
  assert.ok(loaded, `grammar source.rmm-log not loaded from ${grammarPath}`);
  grammar = loaded;
});

// VS Code's TextMate tokenizer gives up on a line after 500 ms (its textMateTokenizationSupport
// passes 500 to tokenizeLine2), so a grammar slower than that fails here.
const TIME_LIMIT_MS = 500;

/** Returns the tokens of one line, failing when the tokenizer stops before the line's end. */
function tokenize(line: string, where: string): IToken[] {
  const result = grammar.tokenizeLine(line, INITIAL, TIME_LIMIT_MS);
  assert.equal(result.stoppedEarly, false, `${where}: tokenizer stopped early`);
  return result.tokens;
}

/** Asserts that tokens start at `range.start`, end at `range.end`, and all carry `scope`. */
function assertScopedRange(
  line: string,
  tokens: IToken[],
  range: TextRange,
  scope: string,
  where: string,
): void {
  const text = JSON.stringify(line.slice(range.start, range.end));
  const inside = tokens.filter(
    (token) => token.startIndex < range.end && token.endIndex > range.start,
  );
  assert.ok(inside.length > 0, `${where}: no token covers ${text}`);
  assert.equal(inside[0]?.startIndex, range.start, `${where}: no token starts at ${text}`);
  assert.equal(inside.at(-1)?.endIndex, range.end, `${where}: no token ends at ${text}`);
  for (const token of inside) {
    const tokenText = JSON.stringify(line.slice(token.startIndex, token.endIndex));
    assert.ok(
      token.scopes.includes(scope),
      `${where}: ${tokenText} in ${text} lacks ${scope}, has ${token.scopes.join(' ')}`,
    );
  }
}

function expectedStatusScope(status: string): string {
  if (status === 'RMI_SUCCESS') return 'markup.inserted.status.success.rmi';
  if (status.startsWith('RMI_ERROR_')) return 'invalid.illegal.status.error.rmi';
  if (status.startsWith('RMI_')) return 'constant.language.status.rmi';
  return 'constant.numeric.hex.rmm-log';
}

/**
 * Checks one line against parseRmiLogLine: a line it accepts gets the command name, hex value,
 * separator and status scopes at the ranges it reports, and a line it rejects gets no RMI
 * status scope. Returns whether the parser accepted the line.
 */
function assertAgreesWithParser(line: string, tokens: IToken[], where: string): boolean {
  const call = parseRmiLogLine(line);
  if (!call) {
    const status = tokens.find((token) => token.scopes.includes('meta.status.rmi'));
    assert.equal(status, undefined, `${where}: RMI status scope on a line the parser rejects`);
    return false;
  }

  assertScopedRange(line, tokens, call.nameRange, 'entity.name.function.rmi', where);
  const values = [...call.args, ...(call.index ? [call.index] : []), ...call.outputs];
  for (const value of values) {
    assertScopedRange(line, tokens, value.range, 'constant.numeric.hex.rmm-log', where);
  }
  assertScopedRange(line, tokens, call.separatorRange, 'keyword.operator.separator.rmm-log', where);
  assertScopedRange(line, tokens, call.statusRange, 'meta.status.rmi', where);
  assertScopedRange(line, tokens, call.statusRange, expectedStatusScope(call.status), where);
  return true;
}

/** Lines in the shape TF-RMM prints, with the variations that parseRmiLogLine accepts. */
const rmiLine = (() => {
  const hexWord = fc
    .tuple(fc.constantFrom('', '0x'), fc.stringMatching(/^[0-9a-fA-F]{1,16}$/))
    .map(([prefix, digits]) => prefix + digits);
  const gap = fc.stringMatching(/^[ \t]{1,4}$/);
  const values = fc
    .array(fc.tuple(gap, hexWord), { maxLength: 6 })
    .map((pairs) => pairs.map(([space, word]) => space + word).join(''));
  const name = fc
    .tuple(fc.constantFrom('SMC_RMM_', 'SMC_RMI_'), fc.stringMatching(/^[A-Z0-9_]{1,24}$/))
    .map(([prefix, command]) => prefix + command);
  const status = fc.oneof(
    fc.constantFrom(
      'RMI_SUCCESS',
      'RMI_ERROR_INPUT',
      'RMI_ERROR_REALM',
      'RMI_ERROR_REC',
      'RMI_ERROR_RTT',
      'RMI_BUSY',
    ),
    hexWord,
  );
  const prefix = fc.constantFrom(
    '',
    '[     rmm ] ',
    '  [ tfa+linux ] ',
    '[   12.345678] ',
    'INFO:    ',
    'Booting RMM v.0.4.0 ',
    '2026-03-03 09:14:02.417 ',
  );
  const ending = fc.constantFrom('', ' ', '\r', ' \t\r');
  return fc
    .tuple(prefix, name, values, gap, gap, status, values, ending)
    .map(([lead, command, args, before, after, result, outputs, end]) =>
      [lead, command, args, before, '>', after, result, outputs, end].join(''),
    );
})();

/**
 * RMI lines with a few characters replaced by a piece of another line, so that some still
 * parse and most are near misses: a glued name, a missing separator, a stray character.
 */
const alteredRmiLine = fc
  .tuple(
    rmiLine,
    fc.nat(),
    fc.nat({ max: 3 }),
    fc.constantFrom('', 'x', '_', 'zz', ' ', '\t', '>', ':', 'SMC_RMI_', 'RSI_SUCCESS', '0x', '\r'),
  )
  .map(([line, at, length, piece]) => {
    const start = at % (line.length + 1);
    return line.slice(0, start) + piece + line.slice(start + length);
  });

describe('rmm-log grammar', () => {
  test('tokenizes every capture', () => {
    // dataDir() throws when the data folder is missing, so this test fails rather than skips.
    const folder = path.join(dataDir(), 'console-logs');
    const files = readdirSync(folder).sort();
    assert.ok(files.length > 0, `no captures in ${folder}`);
    let rmiLines = 0;
    let rsiNames = 0;

    for (const file of files) {
      const lines = readFileSync(path.join(folder, file), 'utf8').split('\n');
      for (const [index, line] of lines.entries()) {
        const where = `${file}:${index + 1}`;
        const tokens = tokenize(line, where);
        if (assertAgreesWithParser(line, tokens, where)) rmiLines += 1;
        if (tokens.some((token) => token.scopes.includes('entity.name.function.rsi'))) {
          rsiNames += 1;
        }
      }
    }
    assert.ok(rmiLines > 0, `no RMI call lines in ${folder}`);
    assert.ok(rsiNames > 0, `no RSI command names scoped in ${folder}`);
  });

  test('samples agree with the parser', () => {
    const files = readdirSync(sampleDir).filter((name) => name.endsWith('.rmm-log'));
    assert.ok(files.length > 0, `no .rmm-log samples in ${sampleDir}`);
    const statuses = new Set<string>();

    for (const file of files) {
      const lines = readFileSync(path.join(sampleDir, file), 'utf8').split('\n');
      for (const [index, line] of lines.entries()) {
        const where = `${file}:${index + 1}`;
        if (assertAgreesWithParser(line, tokenize(line, where), where)) {
          statuses.add(expectedStatusScope(parseRmiLogLine(line)?.status ?? ''));
        }
      }
    }
    // Each kind of status must occur in the samples, so that each of its checks runs.
    assert.deepEqual([...statuses].sort(), [
      'constant.language.status.rmi',
      'constant.numeric.hex.rmm-log',
      'invalid.illegal.status.error.rmi',
      'markup.inserted.status.success.rmi',
    ]);
  });

  test('random RMI lines agree with the parser', () => {
    fc.assert(
      fc.property(rmiLine, (line) => {
        const where = JSON.stringify(line);
        const accepted = assertAgreesWithParser(line, tokenize(line, where), where);
        assert.ok(accepted, `parser rejected ${where}`);
      }),
      { numRuns: 500 },
    );
  });

  test('altered RMI lines agree with the parser', () => {
    fc.assert(
      fc.property(alteredRmiLine, (line) => {
        const where = JSON.stringify(line);
        assertAgreesWithParser(line, tokenize(line, where), where);
      }),
      { numRuns: 2000 },
    );
  });
});
