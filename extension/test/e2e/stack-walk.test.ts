// End-to-end walk through the Stack view of the installed extension, on the fixture rme-stack
// that scripts/vscode-test/e2e.mjs creates in the workspace (its FVP boots the QEMU board). The
// steps run as a user runs them: inline buttons, context menus and the Command Palette, with the
// diff, quick picks and input boxes handled in the UI. Screenshots go to CCA_E2E_SCREENSHOTS.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { Chromium } from '../../../scripts/vscode-test/code-server.mjs' with {
  'resolution-mode': 'import',
};
import {
  dragSashLeftOf,
  poll,
  quickInput,
  quickOpen,
  requireEnv,
  runCommand,
  screenshot,
  treeRow,
  viewPane,
} from './driver';

/** The steps in the order of the Stack view, with the name of each one's log file. */
const STEPS = [
  ['Prerequisites', 'prerequisites'],
  ['Container image', 'container'],
  ['Download', 'download'],
  ['Modifications', 'modifications'],
  ['Build', 'build'],
  ['Boot', 'boot'],
  ['Realm', 'realm'],
  ['Inference service', 'inference'],
] as const;
type StepTitle = (typeof STEPS)[number][0];

/** A process seen in /proc: its id and start time, so that a reused id is not taken for it. */
interface ProcessId {
  pid: number;
  startTicks: number;
}

function readStat(pid: number): { parentPid: number; startTicks: number; state: string } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields are counted after the command name's closing parenthesis, which may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', parentPid: Number(fields[1]), startTicks: Number(fields[19]) };
}

function isAlive(process: ProcessId): boolean {
  const stat = readStat(process.pid);
  return stat !== null && stat.state !== 'Z' && stat.startTicks === process.startTicks;
}

/** Returns `pid` and all its descendants, from /proc. */
function processTree(pid: number): ProcessId[] {
  const table = new Map<number, { parentPid: number; startTicks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) table.set(Number(name), stat);
  }
  const tree: ProcessId[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    const stat = table.get(current);
    if (stat) tree.push({ pid: current, startTicks: stat.startTicks });
    for (const [child, entry] of table) if (entry.parentPid === current) queue.push(child);
  }
  return tree;
}

describe('Stack view on the fixture stack', () => {
  const workspace = requireEnv('CCA_E2E_WORKSPACE');
  const stackDir = requireEnv('CCA_E2E_STACK');
  const bootRecord = path.join(stackDir, '.cca', 'processes', 'boot.json');
  let browser: Chromium | undefined;
  let page: Page;
  let stack: Locator;
  /** The FVP's processes (boot.sh, the model, QEMU and its watchdog) while it runs. */
  let fvpProcesses: ProcessId[] = [];

  /** The first test that failed. Each test builds on the ones before, so later ones stop at once. */
  let firstFailure: string | undefined;
  function walkTest(name: string, body: () => Promise<void>): void {
    void test(name, async () => {
      if (firstFailure) throw new Error(`not run, because "${firstFailure}" failed`);
      try {
        await body();
      } catch (error) {
        firstFailure = name;
        await screenshot(page, 'stack-walk-failure.png').catch(() => undefined);
        throw error;
      }
    });
  }

  const row = (title: StepTitle): Locator => treeRow(stack, title);
  const description = async (title: StepTitle): Promise<string> =>
    (await row(title).locator('.label-description').textContent()) ?? '';

  /** Returns the end of a step's log, which has every command and its output. */
  function logTail(title: StepTitle): string {
    const name = STEPS.find(([step]) => step === title)?.[1] ?? title;
    const log = path.join(stackDir, '.cca', 'logs', `${name}.log`);
    return `${log}:\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(no log)'}`;
  }

  /**
   * Waits until a step's description starts with `expected` and throws, with the end of the
   * step's log, when it shows `failed` instead or neither comes within `timeoutMs`.
   */
  async function expectState(title: StepTitle, expected: string, timeoutMs = 60_000) {
    const states = [expected, 'failed'];
    let text: string;
    try {
      text = await poll(
        `${title}: ${expected}`,
        () => description(title),
        (value) => states.some((state) => value.startsWith(state)),
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${logTail(title)}`, { cause: error });
    }
    if (!text.startsWith(expected)) {
      // The notification has the step's error.
      const errors = await page.locator('.notification-toast').allTextContents();
      throw new Error(
        `${title}: ${text}, not ${expected}\n${errors.join('\n')}\n${logTail(title)}`,
      );
    }
  }

  /** Clicks one of a step's inline buttons, which show while the pointer is on its row. */
  async function clickInline(title: StepTitle, action: string): Promise<void> {
    await row(title).hover();
    await row(title).locator(`.action-label[aria-label="${action}"]`).click();
  }

  async function clearNotifications(): Promise<void> {
    await runCommand(page, 'Notifications: Clear All Notifications');
  }

  /** Waits until the console log of `uart` ends with `pattern`, which the terminal shows too. */
  async function waitForConsole(uart: string, pattern: RegExp, timeoutMs: number) {
    const log = path.join(workspace, '.cca', 'consoles', `${uart}.log`);
    await poll(
      `${uart} shows ${pattern}`,
      () => Promise.resolve(existsSync(log) ? readFileSync(log, 'utf8') : ''),
      (text) => pattern.test(text),
      timeoutMs,
    );
  }

  before(async () => {
    const { launchChromium } = await import('../../../scripts/vscode-test/code-server.mjs');
    browser = await launchChromium();
    page = browser.page;
    page.setDefaultTimeout(60_000);
    await page.goto(requireEnv('CCA_E2E_URL'));
    stack = viewPane(page, 'Stack');
  });

  after(async () => {
    // Nothing may outlive the run: the Stack view's Stop ends the FVP; should a test have
    // failed before it, stop it here, and kill what is left by its process id.
    try {
      if (existsSync(bootRecord) && browser) {
        await runCommand(page, 'CCA: Stop the Realm and the FVP');
        const exists = () => Promise.resolve(existsSync(bootRecord));
        await poll('boot.json removed', exists, (found) => !found, 30_000);
      }
    } catch {
      // Killed below.
    }
    for (const process of fvpProcesses.filter(isAlive)) {
      try {
        globalThis.process.kill(process.pid, 'SIGKILL');
      } catch {
        // Exited in the meantime.
      }
    }
    await browser?.close();
  });

  walkTest('activity bar shows the eight steps', async () => {
    await page.locator('.activitybar .action-item a[aria-label^="CCA Realm Studio"]').click();
    await row('Inference service').waitFor();
    const labels = await stack.locator('.monaco-list-row .label-name').allTextContents();
    assert.deepEqual(
      labels,
      STEPS.map(([title]) => title),
    );
    for (const [title] of STEPS) await expectState(title, 'not done');
    // Wider, so that each step's state, time and duration fit.
    const sideBar = await page.locator('.part.sidebar').boundingBox();
    assert.ok(sideBar, 'the side bar is shown');
    await dragSashLeftOf(page, sideBar.x + sideBar.width + 4, 160);
  });

  walkTest('first three steps run from inline buttons', async () => {
    await clickInline('Prerequisites', 'Run Step');
    // As root, Arm's container.sh refuses to run, and the check says so; the fixture's
    // container.sh checks CCA_FIXTURE_EUID instead, so the later steps still run.
    const asRoot = process.getuid?.() === 0;
    await expectState('Prerequisites', asRoot ? 'failed' : 'done');
    await row('Prerequisites').locator('.monaco-tl-twistie').click();
    for (const check of ['Docker engine', 'repo', 'FVP', 'Regular user']) {
      const icon = treeRow(stack, check).locator('.custom-view-tree-node-item-icon');
      const expected = check === 'Regular user' && asRoot ? 'codicon-close' : 'codicon-check';
      assert.match((await icon.getAttribute('class')) ?? '', new RegExp(expected), check);
    }
    await row('Prerequisites').locator('.monaco-tl-twistie').click();

    await clickInline('Container image', 'Run Step');
    await expectState('Container image', 'done');
    await clickInline('Download', 'Run Step');
    await expectState('Download', 'done');
    assert.ok(existsSync(path.join(stackDir, '.repo', 'project.list')), 'repo sync finished');
    // The download brought rmm/runtime/core/handler.c: the RMI Logging view lists its table.
    await treeRow(viewPane(page, 'RMI Logging'), 'VERSION').waitFor({ timeout: 10_000 });
  });

  walkTest('Modifications applies after the diff', async () => {
    // The modal dialog below blocks the Command Palette: the screenshot is taken without the
    // earlier notifications.
    await clearNotifications();
    await row('Modifications').click({ button: 'right' });
    const runStep = page.getByRole('menuitem', { name: 'Run Step', exact: true });
    await runStep.waitFor();
    // A click while the menu still fades in is lost.
    await page.waitForTimeout(400);
    await runStep.click();

    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Apply 3 change\(s\) to the stack\?/);
    await page.getByRole('tab', { name: /^stack-modifications-.*\.diff/ }).waitFor();
    await screenshot(page, 'stack-modifications.png');
    await dialog.getByRole('button', { name: 'Apply', exact: true }).click();
    await expectState('Modifications', 'done');
    const runModel = path.join(stackDir, 'model-scripts', 'aemfvp-a-rme', 'run_model.sh');
    assert.match(readFileSync(runModel, 'utf8'), /bp\.virtiop9device\.root_path=/);
  });

  walkTest('Build runs from the quick pick', async () => {
    await runCommand(page, 'CCA: Build the Stack…');
    const whole = page.getByRole('option', { name: /^Whole stack/ });
    await whole.waitFor();
    await whole.click();
    await expectState('Build', 'done', 120_000);
    const fip = path.join(stackDir, 'output', 'aemfvp-a-rme', 'fip.bin');
    assert.ok(existsSync(fip), `${fip} was built`);
  });

  walkTest('Quick Fix enables log_exec for REC_CREATE', async () => {
    await quickOpen(page, 'Control+P', 'handler.c', /handler\.c/);
    await page.getByRole('tab', { name: /^handler\.c/ }).waitFor();
    // Find the entry as a user would, then open the light bulb's menu on it. The editor takes
    // Ctrl+F only once it has the focus.
    await page.locator('.monaco-editor.focused').waitFor();
    const find = page.locator('.find-widget.visible textarea[aria-label="Find"]');
    await poll(
      'the Find widget',
      async () => {
        await page.keyboard.press('Control+F');
        return find.waitFor({ timeout: 2_000 }).then(
          () => true,
          () => false,
        );
      },
      (shown) => shown,
      30_000,
    );
    await find.fill('HANDLER(REC_CREATE');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await clearNotifications();
    // The language server may still be starting, and the light bulb asks only once: ask again
    // until its actions come.
    const enable = page.getByRole('option', { name: /^Enable log_exec for REC_CREATE/ });
    await poll(
      'the Quick Fix menu with Enable log_exec for REC_CREATE',
      async () => {
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+.');
        return enable.waitFor({ timeout: 2_000 }).then(
          () => true,
          () => false,
        );
      },
      (shown) => shown,
      60_000,
    );
    await screenshot(page, 'handler-code-action.png');
    await enable.click();

    // The entry's fifth argument, log_exec, is now true; the other columns keep their place.
    const line = page.locator('.monaco-editor .view-line', { hasText: 'HANDLER(REC_CREATE' });
    const text = await poll(
      'REC_CREATE with log_exec true',
      async () => ((await line.textContent()) ?? '').replace(/\u00a0/g, ' '),
      (value) => /smc_rec_create, +true, +true\)/.test(value),
      10_000,
    );
    assert.match(text, /HANDLER\(REC_CREATE, +3, 0, smc_rec_create, +true, +true\),/);

    const notification = page.locator('.notification-toast', {
      hasText: 'RMI log flags changed in handler.c',
    });
    await notification.waitFor();
    assert.equal(
      await notification.getByRole('button', { name: 'Rebuild RMM and fip.bin' }).isVisible(),
      true,
    );

    // The RMI Logging view lists the table's commands; REC_CREATE is below the fold.
    const logging = viewPane(page, 'RMI Logging');
    const recCreate = treeRow(logging, 'REC_CREATE');
    await poll(
      'REC_CREATE in the RMI Logging view',
      async () => {
        if ((await recCreate.count()) > 0) return true;
        await logging.locator('.monaco-list').hover();
        await page.mouse.wheel(0, 66);
        return false;
      },
      (shown) => shown,
      10_000,
    );
    const checkbox = recCreate.locator('.custom-view-tree-node-item-checkbox');
    await poll(
      'REC_CREATE checked',
      () => checkbox.getAttribute('aria-checked'),
      (checked) => checked === 'true',
      10_000,
    );
    assert.match((await recCreate.getAttribute('aria-label')) ?? '', /^REC_CREATE, log_exec on/);
    await screenshot(page, 'handler-log-exec.png');
  });

  walkTest('notification rebuilds RMM and fip.bin', async () => {
    await runCommand(page, 'File: Save');
    const handler = path.join(stackDir, 'rmm', 'runtime', 'core', 'handler.c');
    await poll(
      'handler.c saved',
      () => Promise.resolve(readFileSync(handler, 'utf8')),
      (text) => /smc_rec_create,\s+true,\s+true\)/.test(text),
      10_000,
    );
    // handler.c is now newer than fip.bin.
    await expectState('Build', 'out of date', 20_000);
    const notification = page.locator('.notification-toast', {
      hasText: 'RMI log flags changed in handler.c',
    });
    await notification.getByRole('button', { name: 'Rebuild RMM and fip.bin' }).click();
    await expectState('Build', 'running', 20_000);
    await expectState('Build', 'done', 120_000);
    const fip = path.join(stackDir, 'output', 'aemfvp-a-rme', 'fip.bin');
    assert.ok(statSync(fip).mtimeMs >= statSync(handler).mtimeMs, 'fip.bin is newer');
  });

  walkTest('Boot opens the four consoles', async () => {
    await runCommand(page, 'CCA: Boot the FVP…');
    const shell = page.getByRole('option', { name: /^shell/ });
    await shell.waitFor();
    await shell.click();
    await expectState('Boot', 'running');
    // The process record follows the start of boot.sh.
    const exists = () => Promise.resolve(existsSync(bootRecord));
    await poll('boot.json', exists, (found) => found, 10_000);
    const record = JSON.parse(readFileSync(bootRecord, 'utf8')) as { pid: number };
    fvpProcesses = processTree(record.pid);

    // A terminal per UART; the guest reaches buildroot's login within seconds under QEMU.
    for (const uart of ['terminal_0', 'terminal_1', 'terminal_2', 'terminal_3']) {
      await page.locator('.tabs-list .monaco-list-row', { hasText: uart }).waitFor();
    }
    await waitForConsole('terminal_0', /buildroot login: *$/m, 120_000);
    // Every process the FVP started, now that all of them run.
    fvpProcesses = processTree(record.pid);
    assert.ok(fvpProcesses.length >= 3, 'boot.sh, the model and QEMU run');

    await quickOpen(page, 'Control+P', 'term terminal_0', /terminal_0/);
    await runCommand(page, 'View: Toggle Maximized Panel');
    // Wider terminal tabs, so that the four consoles' names show.
    const tabs = await page
      .locator('.tabs-list', { has: page.locator('.monaco-list-row', { hasText: 'terminal_0' }) })
      .boundingBox();
    if (tabs) await dragSashLeftOf(page, tabs.x, -130);
    await clearNotifications();
    await screenshot(page, 'stack-consoles.png');
    await runCommand(page, 'View: Toggle Maximized Panel');
  });

  walkTest('Create a Realm starts guide', async () => {
    // The realm step logs in on terminal_0 with the password kept in SecretStorage.
    await runCommand(page, 'CCA: Set Console Password…');
    const password = quickInput(page).locator('input[type="password"]');
    await password.fill('root');
    await page.keyboard.press('Enter');
    await page.locator('.notification-toast', { hasText: 'Console password stored.' }).waitFor();

    await clickInline('Realm', 'Run Step');
    const profile = page.getByRole('option', { name: /^guide/ });
    await profile.waitFor();
    assert.equal(await page.getByRole('option', { name: /New realm profile…/ }).isVisible(), true);
    await profile.click();
    await expectState('Realm', 'running', 300_000);

    const realms = viewPane(page, 'Realms');
    const realm = realms.locator('.monaco-list-row').first();
    await realm.waitFor();
    assert.match(
      (await realm.locator('.label-description').textContent()) ?? '',
      /^guide · running · on terminal_0/,
    );
    await clearNotifications();
    await screenshot(page, 'realms-view.png');
  });

  walkTest('inference service starts in the realm', async () => {
    await clickInline('Inference service', 'Run Step');
    const box = quickInput(page);
    await box.getByText(/Number of images realm_inference classifies/).waitFor();
    await box.locator('input').fill('3');
    await page.keyboard.press('Enter');
    await expectState('Inference service', 'running', 180_000);
    await clearNotifications();
    await screenshot(page, 'stack-view.png');
  });

  walkTest('Stop leaves no FVP process', async () => {
    const header = stack.locator('.pane-header');
    await header.hover();
    await header.locator('.action-label[aria-label="Stop the Realm and the FVP"]').click();
    for (const title of ['Boot', 'Realm', 'Inference service'] as const) {
      await expectState(title, 'not done');
    }
    assert.equal(existsSync(bootRecord), false, 'boot.json is removed');
    // QEMU runs in a process group of its own; the model stops it on SIGTERM.
    const left = await poll(
      'the FVP processes to exit',
      () => Promise.resolve(fvpProcesses.filter(isAlive)),
      (alive) => alive.length === 0,
      15_000,
    );
    assert.deepEqual(left, []);
  });
});
