import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { dataDir, repositoryRoot } from '../data';

// The parts of vscode-textmate and vscode-oniguruma that these tests use.
interface OnigModule {
  loadWASM(data: ArrayBuffer): Promise<void>;
  createOnigScanner(patterns: string[]): unknown;
  createOnigString(text: string): unknown;
}
interface Token {
  startIndex: number;
  endIndex: number;
  scopes: string[];
}
interface TokenizeResult {
  tokens: Token[];
  ruleStack: unknown;
  stoppedEarly: boolean;
}
interface Grammar {
  tokenizeLine(line: string, ruleStack: unknown): TokenizeResult;
}
interface TextMateModule {
  INITIAL: unknown;
  Registry: new (options: {
    onigLib: Promise<{
      createOnigScanner(patterns: string[]): unknown;
      createOnigString(text: string): unknown;
    }>;
    loadGrammar(scopeName: string): Promise<unknown>;
  }) => { loadGrammar(scopeName: string): Promise<Grammar | null> };
  parseRawGrammar(content: string, filePath: string): unknown;
}

// NOTE: the packages are loaded at run time, so that the project compiles before they are in
// devDependencies. A missing package fails these tests with "Cannot find module".
const requireModule = createRequire(__filename);
const grammarPath = path.join(repositoryRoot, 'syntaxes', 'rmm-log.tmLanguage.json');
let textmate: TextMateModule;
let grammar: Grammar;

before(async () => {
  textmate = requireModule('vscode-textmate') as TextMateModule;
  const onig = requireModule('vscode-oniguruma') as OnigModule;
  const wasm = readFileSync(requireModule.resolve('vscode-oniguruma/release/onig.wasm'));
  await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));

  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => onig.createOnigScanner(patterns),
      createOnigString: (text) => onig.createOnigString(text),
    }),
    loadGrammar: (scopeName) =>
      Promise.resolve(
        scopeName === 'source.rmm-log'
          ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath)
          : null,
      ),
  });
  const loaded = await registry.loadGrammar('source.rmm-log');
  assert.ok(loaded, `grammar source.rmm-log not loaded from ${grammarPath}`);
  grammar = loaded;
});

/** Returns the scopes of the token that starts at the first occurrence of `text` in `line`. */
function scopesAt(line: string, text: string): string[] {
  const start = line.indexOf(text);
  assert.ok(start >= 0, `${JSON.stringify(text)} not in ${JSON.stringify(line)}`);
  const { tokens } = grammar.tokenizeLine(line, textmate.INITIAL);
  const token = tokens.find((candidate) => candidate.startIndex === start);
  assert.ok(token, `no token starts at ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  assert.equal(line.slice(token.startIndex, token.endIndex), text);
  return token.scopes;
}

function hasScope(scopes: string[], prefix: string): boolean {
  return scopes.some((scope) => scope === prefix || scope.startsWith(`${prefix}.`));
}

describe('rmm-log grammar', () => {
  const success = 'SMC_RMM_REC_CREATE            8a10e000 8a100000 8a10d000 > RMI_SUCCESS';
  const failure = '[     rmm ] SMC_RMI_RTT_DESTROY               8a100000 0 3 > RMI_ERROR_RTT 2';

  test('command name', () => {
    assert.ok(hasScope(scopesAt(success, 'SMC_RMM_REC_CREATE'), 'entity.name.function.rmi'));
    assert.ok(hasScope(scopesAt(failure, 'SMC_RMI_RTT_DESTROY'), 'entity.name.function.rmi'));
  });

  test('hex arguments and outputs', () => {
    assert.ok(hasScope(scopesAt(success, '8a10e000'), 'constant.numeric.hex'));
    assert.ok(hasScope(scopesAt(failure, '2'), 'constant.numeric.hex'));
  });

  test('separator', () => {
    assert.ok(hasScope(scopesAt(success, '>'), 'keyword.operator.separator.rmi'));
  });

  test('success and error status', () => {
    assert.ok(hasScope(scopesAt(success, 'RMI_SUCCESS'), 'markup.inserted'));
    assert.ok(hasScope(scopesAt(failure, 'RMI_ERROR_RTT'), 'invalid.illegal.status.rmi'));
    const input = 'SMC_RMM_GRANULE_DELEGATE      8a100001 > RMI_ERROR_INPUT';
    assert.ok(hasScope(scopesAt(input, 'RMI_ERROR_INPUT'), 'invalid.illegal.status.rmi'));
  });

  test('Shrinkwrap tag', () => {
    assert.ok(hasScope(scopesAt(failure, '[     rmm ]'), 'entity.name.tag.terminal'));
  });

  test('TF-A log levels', () => {
    assert.ok(hasScope(scopesAt('NOTICE:  BL31: Booting', 'NOTICE:'), 'keyword.other.log-level'));
    assert.ok(hasScope(scopesAt('INFO:    BL31: Ready', 'INFO:'), 'keyword.other.log-level'));
    assert.ok(hasScope(scopesAt('ERROR:   BL2: Failed', 'ERROR:'), 'invalid.illegal'));
  });

  test('RMM boot lines', () => {
    assert.ok(hasScope(scopesAt('RMM init end', 'RMM init end'), 'comment.line'));
    const booting = 'Booting RMM v.0.4.0(debug)';
    assert.ok(hasScope(scopesAt(booting, booting), 'comment.line'));
  });

  test('plain text stays plain', () => {
    const { tokens } = grammar.tokenizeLine('udhcpc: sending discover', textmate.INITIAL);
    assert.equal(tokens.length, 1);
    assert.deepEqual(tokens[0]?.scopes, ['source.rmm-log']);
  });

  test('tokenizes every capture', () => {
    // dataDir() throws when the data folder is missing, so this test fails rather than skips.
    const folder = path.join(dataDir(), 'console-logs');
    const files = readdirSync(folder).filter((name) => name.endsWith('.txt'));
    assert.ok(files.length > 0, `no .txt captures in ${folder}`);
    let rmiTokens = 0;

    for (const file of files) {
      let ruleStack = textmate.INITIAL;
      for (const line of readFileSync(path.join(folder, file), 'utf8').split('\n')) {
        const result = grammar.tokenizeLine(line, ruleStack);
        assert.equal(result.stoppedEarly, false, `${file}: ${line}`);
        ruleStack = result.ruleStack;
        rmiTokens += result.tokens.filter((token) =>
          token.scopes.includes('entity.name.function.rmi'),
        ).length;
      }
    }
    assert.ok(rmiTokens > 0, 'no RMI command names found in the captures');
  });
});
