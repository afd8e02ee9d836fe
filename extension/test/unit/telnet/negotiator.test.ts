import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  OptionNegotiator,
  TelnetCommand as C,
  TelnetOption as O,
  type NegotiationCommand,
} from '../../../core/telnet/protocol';

/** Returns the bytes the client sends for one request, as a plain array. */
function replyBytes(negotiator: OptionNegotiator, command: NegotiationCommand, option: number) {
  return [...negotiator.receive(command, option).bytes];
}

describe('OptionNegotiator', () => {
  test('accepts WILL ECHO, SGA and BINARY', () => {
    const negotiator = new OptionNegotiator();
    for (const option of [O.ECHO, O.SGA, O.BINARY]) {
      assert.deepEqual(replyBytes(negotiator, C.WILL, option), [C.IAC, C.DO, option]);
      assert.equal(negotiator.isRemoteEnabled(option), true);
    }
  });

  test('refuses other WILLs with DONT', () => {
    const negotiator = new OptionNegotiator();
    for (const option of [O.AUTHENTICATION, O.ENCRYPT, O.STATUS, 200]) {
      assert.deepEqual(replyBytes(negotiator, C.WILL, option), [C.IAC, C.DONT, option]);
      assert.equal(negotiator.isRemoteEnabled(option), false);
    }
  });

  test('accepts DO BINARY, SGA and TTYPE with WILL', () => {
    const negotiator = new OptionNegotiator();
    for (const option of [O.BINARY, O.SGA, O.TTYPE]) {
      assert.deepEqual(replyBytes(negotiator, C.DO, option), [C.IAC, C.WILL, option]);
      assert.equal(negotiator.isLocalEnabled(option), true);
    }
  });

  test('DO NAWS sends WILL NAWS then the size', () => {
    const negotiator = new OptionNegotiator({ columns: 132, rows: 43 });
    assert.deepEqual(replyBytes(negotiator, C.DO, O.NAWS), [
      ...[C.IAC, C.WILL, O.NAWS],
      ...[C.IAC, C.SB, O.NAWS, 0, 132, 0, 43, C.IAC, C.SE],
    ]);
    assert.equal(negotiator.receive(C.DO, O.NAWS).reply, undefined);
  });

  test('refuses DO ECHO and others with WONT', () => {
    const negotiator = new OptionNegotiator();
    const inetutilsRequests = [O.TSPEED, O.XDISPLOC, O.NEW_ENVIRON, O.OLD_ENVIRON, O.LINEMODE];
    for (const option of [O.ECHO, ...inetutilsRequests, O.TIMING_MARK]) {
      assert.deepEqual(replyBytes(negotiator, C.DO, option), [C.IAC, C.WONT, option]);
      assert.equal(negotiator.isLocalEnabled(option), false);
    }
  });

  test('repeated WILL or DO of an enabled option gets no reply', () => {
    const negotiator = new OptionNegotiator();
    replyBytes(negotiator, C.WILL, O.ECHO);
    replyBytes(negotiator, C.DO, O.BINARY);
    assert.deepEqual(negotiator.receive(C.WILL, O.ECHO), {
      reply: undefined,
      bytes: Uint8Array.of(),
    });
    assert.deepEqual(replyBytes(negotiator, C.DO, O.BINARY), []);
  });

  test('repeated requests for a refused option each get a reply', () => {
    // inetutils-telnetd waits for a reply to every request, so each one gets a reply.
    const negotiator = new OptionNegotiator();
    assert.deepEqual(replyBytes(negotiator, C.DO, O.TSPEED), [C.IAC, C.WONT, O.TSPEED]);
    assert.deepEqual(replyBytes(negotiator, C.DO, O.TSPEED), [C.IAC, C.WONT, O.TSPEED]);
    assert.deepEqual(replyBytes(negotiator, C.WILL, O.ENCRYPT), [C.IAC, C.DONT, O.ENCRYPT]);
    assert.deepEqual(replyBytes(negotiator, C.WILL, O.ENCRYPT), [C.IAC, C.DONT, O.ENCRYPT]);
  });

  test('WONT of an enabled option is acknowledged once', () => {
    const negotiator = new OptionNegotiator();
    replyBytes(negotiator, C.WILL, O.ECHO);
    assert.deepEqual(replyBytes(negotiator, C.WONT, O.ECHO), [C.IAC, C.DONT, O.ECHO]);
    assert.equal(negotiator.isRemoteEnabled(O.ECHO), false);
    assert.deepEqual(replyBytes(negotiator, C.WONT, O.ECHO), []);
  });

  test('DONT of an enabled option is acknowledged once', () => {
    const negotiator = new OptionNegotiator();
    replyBytes(negotiator, C.DO, O.BINARY);
    assert.deepEqual(replyBytes(negotiator, C.DONT, O.BINARY), [C.IAC, C.WONT, O.BINARY]);
    assert.equal(negotiator.isLocalEnabled(O.BINARY), false);
    assert.deepEqual(replyBytes(negotiator, C.DONT, O.BINARY), []);
  });

  test('WONT and DONT of disabled options get no reply', () => {
    const negotiator = new OptionNegotiator();
    assert.deepEqual(replyBytes(negotiator, C.WONT, O.ECHO), []);
    assert.deepEqual(replyBytes(negotiator, C.DONT, O.NAWS), []);
    assert.deepEqual(replyBytes(negotiator, C.WONT, 200), []);
  });

  test('an option can be enabled again after DONT', () => {
    const negotiator = new OptionNegotiator();
    replyBytes(negotiator, C.DO, O.SGA);
    replyBytes(negotiator, C.DONT, O.SGA);
    assert.deepEqual(replyBytes(negotiator, C.DO, O.SGA), [C.IAC, C.WILL, O.SGA]);
  });

  test('TTYPE SEND gets IS XTERM-256COLOR', () => {
    const negotiator = new OptionNegotiator();
    replyBytes(negotiator, C.DO, O.TTYPE);
    const reply = negotiator.receiveSubnegotiation(O.TTYPE, Uint8Array.of(1));
    assert.deepEqual(
      [...reply],
      [C.IAC, C.SB, O.TTYPE, 0, ...Buffer.from('XTERM-256COLOR'), C.IAC, C.SE],
    );
  });

  test('TTYPE SEND before DO TTYPE is ignored', () => {
    const negotiator = new OptionNegotiator();
    assert.equal(negotiator.receiveSubnegotiation(O.TTYPE, Uint8Array.of(1)).length, 0);
  });

  test('custom terminal type', () => {
    const negotiator = new OptionNegotiator({ terminalType: 'VT100' });
    replyBytes(negotiator, C.DO, O.TTYPE);
    const reply = negotiator.receiveSubnegotiation(O.TTYPE, Uint8Array.of(1));
    assert.equal(Buffer.from(reply.subarray(4, -2)).toString(), 'VT100');
  });

  test('other subnegotiations are ignored', () => {
    const negotiator = new OptionNegotiator();
    replyBytes(negotiator, C.DO, O.TTYPE);
    assert.equal(negotiator.receiveSubnegotiation(O.TTYPE, Uint8Array.of(0)).length, 0);
    assert.equal(negotiator.receiveSubnegotiation(O.TSPEED, Uint8Array.of(1)).length, 0);
  });

  test('resize sends NAWS only once agreed and changed', () => {
    const negotiator = new OptionNegotiator();
    assert.equal(negotiator.resize(100, 30).length, 0);
    assert.deepEqual(replyBytes(negotiator, C.DO, O.NAWS).slice(3), [
      ...[C.IAC, C.SB, O.NAWS, 0, 100, 0, 30, C.IAC, C.SE],
    ]);
    assert.equal(negotiator.resize(100, 30).length, 0);
    assert.deepEqual([...negotiator.resize(120, 30)].slice(3, 7), [0, 120, 0, 30]);
  });

  test('busybox telnetd greeting', () => {
    const negotiator = new OptionNegotiator();
    const requests: [NegotiationCommand, number][] = [
      [C.DO, O.ECHO],
      [C.DO, O.NAWS],
      [C.WILL, O.ECHO],
      [C.WILL, O.SGA],
    ];
    const replies = requests.map(([command, option]) => negotiator.receive(command, option).reply);
    assert.deepEqual(replies, [C.WONT, C.WILL, C.DO, C.DO]);
  });
});
