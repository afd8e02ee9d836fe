import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FvpPortMap, parseFvpPortLine } from '../../../core/telnet/fvp-ports';

describe('parseFvpPortLine', () => {
  test('FVP line', () => {
    assert.deepEqual(parseFvpPortLine('terminal_0: Listening for serial connection on port 5000'), {
      terminal: 'terminal_0',
      port: 5000,
    });
  });

  test('Shrinkwrap prefix and CR LF', () => {
    const line = '  [       fvp ] terminal_3: Listening for serial connection on port 5003\r';
    assert.deepEqual(parseFvpPortLine(line), { terminal: 'terminal_3', port: 5003 });
  });

  test('other model terminal names', () => {
    // Models other than the Base FVP give their terminals other names.
    const line = 'telnetterminal0: Listening for serial connection on port 5000';
    assert.deepEqual(parseFvpPortLine(line), { terminal: 'telnetterminal0', port: 5000 });
  });

  test('other lines', () => {
    assert.equal(parseFvpPortLine('NOTICE:  Booting Trusted Firmware'), undefined);
    assert.equal(
      parseFvpPortLine('terminal_0: Listening for serial connection on port'),
      undefined,
    );
    assert.equal(parseFvpPortLine(''), undefined);
  });

  test('port out of range', () => {
    assert.equal(
      parseFvpPortLine('terminal_0: Listening for serial connection on port 0'),
      undefined,
    );
    assert.equal(
      parseFvpPortLine('terminal_0: Listening for serial connection on port 70000'),
      undefined,
    );
  });
});

describe('FvpPortMap', () => {
  test('busy port: terminal_1 on 5005', () => {
    const ports = new FvpPortMap();
    ports.push(
      'terminal_0: Listening for serial connection on port 5000\n' +
        'terminal_1: Listening for serial connection on port 5005\n' +
        'terminal_2: Listening for serial connection on port 5006\n' +
        'terminal_3: Listening for serial connection on port 5007\n',
    );
    assert.equal(ports.get('terminal_0'), 5000);
    assert.equal(ports.get('terminal_1'), 5005);
    assert.equal(ports.get('terminal_3'), 5007);
    assert.equal(ports.get('terminal_4'), undefined);
    assert.equal(ports.entries().length, 4);
  });

  test('partial lines across chunks', () => {
    const ports = new FvpPortMap();
    const seen: string[] = [];
    ports.onChange((terminal, port) => seen.push(`${terminal}=${port}`));
    const text =
      'Info: FVP_Base_RevC_2xAEMvA: loading\r\n' +
      'terminal_0: Listening for serial connection on port 5000\r\n' +
      'terminal_1: Listening for serial connection on port 5005\n';
    for (const character of text) ports.push(character);
    assert.deepEqual(seen, ['terminal_0=5000', 'terminal_1=5005']);
  });

  test('a line counts only once complete', () => {
    const ports = new FvpPortMap();
    ports.push('terminal_0: Listening for serial connection on port 50');
    assert.equal(ports.get('terminal_0'), undefined);
    ports.push('01\n');
    assert.equal(ports.get('terminal_0'), 5001);
  });

  test('onChange fires on new and changed ports only', () => {
    const ports = new FvpPortMap();
    const seen: number[] = [];
    const subscription = ports.onChange((_terminal, port) => seen.push(port));
    ports.push('terminal_0: Listening for serial connection on port 5000\n');
    ports.push('terminal_0: Listening for serial connection on port 5000\n');
    ports.push('terminal_0: Listening for serial connection on port 5004\n');
    subscription.dispose();
    ports.push('terminal_0: Listening for serial connection on port 5008\n');
    assert.deepEqual(seen, [5000, 5004]);
    assert.equal(ports.get('terminal_0'), 5008);
  });

  test('clear forgets ports and the partial line', () => {
    const ports = new FvpPortMap();
    ports.push('terminal_0: Listening for serial connection on port 5000\nterminal_1: Liste');
    ports.clear();
    ports.push('ning for serial connection on port 5001\n');
    assert.equal(ports.get('terminal_0'), undefined);
    assert.equal(ports.get('terminal_1'), undefined);
  });

  test('long output without newline stays bounded', () => {
    const ports = new FvpPortMap();
    ports.push('x'.repeat(100_000));
    ports.push('\nterminal_2: Listening for serial connection on port 5002\n');
    assert.equal(ports.get('terminal_2'), 5002);
  });
});
