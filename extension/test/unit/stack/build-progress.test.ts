import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BuildTracker,
  compilerDiagnosticPattern,
  compilerProblemPattern,
} from '../../../core/stack/build-progress';

describe('build output', () => {
  const root = '/home/me/rme-stack';
  const plan = { components: ['hafnium', 'rmm', 'tf-a'], command: 'build' };

  test('banners and a compiler error in the RMM', () => {
    const tracker = new BuildTracker(root, plan);
    const lines = [
      '***********************************',
      'Execute build for build-hafnium.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]',
      'Execute build for build-hafnium.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot] done.',
      '-----------------------------------',
      '***********************************',
      'Execute build for build-rmm.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]',
      '[ 50%] Building C object CMakeFiles/rmm.dir/runtime/core/handler.c.o',
      `${root}/rmm/runtime/core/handler.c:212:5: error: expected ';' before '}' token`,
      'make[2]: *** [CMakeFiles/rmm.dir/build.make:76: CMakeFiles/rmm.dir/runtime/core/handler.c.o] Error 1',
      'Command failed: build for build-rmm.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]',
    ];
    const events = lines.map((line) => tracker.push(line)).filter((event) => event !== undefined);

    assert.deepEqual(events[0], {
      type: 'step',
      component: 'hafnium',
      command: 'build',
      phase: 'started',
    });
    assert.deepEqual(events[1], {
      type: 'step',
      component: 'hafnium',
      command: 'build',
      phase: 'finished',
    });
    assert.deepEqual(events[3], {
      type: 'diagnostic',
      diagnostic: {
        severity: 'error',
        file: `${root}/rmm/runtime/core/handler.c`,
        line: 212,
        column: 5,
        message: "expected ';' before '}' token",
        component: 'rmm',
      },
    });
    assert.deepEqual(events.at(-1), {
      type: 'step',
      component: 'rmm',
      command: 'build',
      phase: 'failed',
    });
    assert.equal(tracker.component, 'rmm');
    assert.equal(tracker.percent(), 33);
    assert.equal(
      tracker.firstError(),
      `${root}/rmm/runtime/core/handler.c:212: expected ';' before '}' token`,
    );
  });

  test('progress of all', () => {
    const tracker = new BuildTracker(root, { components: ['rmm', 'tf-a'], command: 'all' });
    for (const command of ['clean', 'prepare', 'build']) {
      tracker.push(`Execute ${command} for build-rmm.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]`);
      tracker.push(
        `Execute ${command} for build-rmm.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot] done.`,
      );
    }
    assert.equal(tracker.percent(), 38);
    assert.equal(new BuildTracker(root).percent(), undefined);
  });

  test('relative paths follow make directories', () => {
    const tracker = new BuildTracker(root);
    tracker.push('Execute build for build-tf-a.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]');
    tracker.push(`make[1]: Entering directory '${root}/tf-a'`);
    const fatal = tracker.push(
      'drivers/arm/gic.c:10:10: fatal error: gic.h: No such file or directory',
    );
    assert.equal(
      fatal?.type === 'diagnostic' && fatal.diagnostic.file,
      `${root}/tf-a/drivers/arm/gic.c`,
    );
    assert.equal(fatal?.type === 'diagnostic' && fatal.diagnostic.component, 'tf-a');
    const make = tracker.push('make[1]: *** [Makefile:1204: build/fvp/debug/bl31/gic.o] Error 1');
    assert.equal(make?.type === 'diagnostic' && make.diagnostic.file, `${root}/tf-a/Makefile`);
    assert.equal(make?.type === 'diagnostic' && make.diagnostic.message, 'Error 1');
    tracker.push(`make[1]: Leaving directory '${root}/tf-a'`);
    const relative = tracker.push('x.c:1:1: error: y');
    assert.equal(relative?.type === 'diagnostic' && relative.diagnostic.file, `${root}/x.c`);
  });

  test('make stop, CMake and warnings', () => {
    const tracker = new BuildTracker(root);
    const stop = tracker.push("make: *** No rule to make target 'fip'.  Stop.");
    assert.equal(stop?.type === 'diagnostic' && stop.diagnostic.file, undefined);
    const cmake = tracker.push('CMake Error at CMakeLists.txt:12 (project):');
    assert.equal(cmake?.type === 'diagnostic' && cmake.diagnostic.line, 12);
    const warning = tracker.push("/abs/x.c:1:2: warning: unused variable 'y'");
    assert.equal(warning?.type === 'diagnostic' && warning.diagnostic.severity, 'warning');
    assert.equal(tracker.push('  CC      bl31/bl31_main.c'), undefined);
  });

  test('second-build kernel patch failure explained', () => {
    const tracker = new BuildTracker(root);
    tracker.push('Execute build for build-linux.sh on aemfvp-a-rme[aemfvp-a-rme][buildroot]');
    const event = tracker.push('error: patch failed: arch/arm64/Kconfig:2260');
    assert.equal(event?.type, 'diagnostic');
    assert.match(tracker.firstError() ?? '', /already applied.*build-linux\.sh/);
  });

  test('problem matcher pattern', () => {
    const match = new RegExp(compilerProblemPattern.regexp).exec('a/b.c:3:4: error: boom');
    assert.equal(match?.[compilerProblemPattern.file], 'a/b.c');
    assert.equal(match?.[compilerProblemPattern.severity], 'error');
    assert.equal(compilerDiagnosticPattern.exec('note: x'), null);
  });
});
