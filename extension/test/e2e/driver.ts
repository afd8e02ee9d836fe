// Helpers for the end-to-end tests: the variables that scripts/vscode-test/e2e.mjs sets, and
// the workbench gestures that several tests use (screenshots, the Command Palette, Quick Open,
// tree rows of a view). Not a test file itself: e2e.mjs runs only *.test.js.
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';

/** Animations of the workbench (menus, panels, notifications) take about this long to settle. */
export const SETTLE_MS = 400;

/** Returns a variable that e2e.mjs sets, or throws when the test runs without it. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run this test through scripts/vscode-test/e2e.mjs`);
  return value;
}

/**
 * Saves a screenshot of the whole window as CCA_E2E_SCREENSHOTS/<name>, once it has settled. The
 * pointer goes to an empty part of the activity bar first, so that no hover shows.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.mouse.move(2, 450);
  await page.waitForTimeout(SETTLE_MS);
  await page.screenshot({ path: path.join(requireEnv('CCA_E2E_SCREENSHOTS'), name) });
}

/**
 * Polls `read` every 200 ms until `done` accepts its value, and returns that value. Throws after
 * `timeoutMs` with `what` and the last value read.
 */
export async function poll<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${String(value)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The quick input (Command Palette, Quick Open, quick picks and input boxes). */
export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget');
}

/**
 * Opens Quick Open with `key` (F1 for the Command Palette, Control+P for files), types `text`
 * and accepts the first entry whose name matches `entry`.
 */
export async function quickOpen(page: Page, key: string, text: string, entry: RegExp) {
  // A quick input that is still closing would take the key press as its own.
  await quickInput(page).waitFor({ state: 'hidden' });
  await page.keyboard.press(key);
  await quickInput(page).locator('input').fill(text);
  // The entries are ranked by a fuzzy match and recent use: click the one named, not the first.
  const option = page.getByRole('option', { name: entry }).first();
  await option.waitFor();
  await option.click();
}

/** Returns a regular expression that matches `text` literally. */
export function literal(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** Runs a command from the Command Palette by its title, as a user types it. */
export async function runCommand(page: Page, title: string): Promise<void> {
  // An entry is named by the title, then its key binding, if any, after a comma.
  await quickOpen(page, 'F1', `>${title}`, new RegExp(`^${literal(title).source}(,|$)`));
}

/** Returns a side-bar view by its title, as in `Stack`: the pane below the view's header. */
export function viewPane(page: Page, title: string): Locator {
  return page.locator('.pane', {
    has: page.locator(`.pane-header[aria-label="${title} Section"]`),
  });
}

/**
 * Drags the vertical sash that starts nearest left of `x` (the left edge of a part) by `pixels`
 * (negative: to the left), as a user widens or narrows a part.
 */
export async function dragSashLeftOf(page: Page, x: number, pixels: number): Promise<void> {
  let sash: { x: number; y: number; width: number; height: number } | undefined;
  for (const candidate of await page.locator('.monaco-sash.vertical').all()) {
    const box = await candidate.boundingBox();
    if (!box || box.width === 0 || box.x > x) continue;
    if (!sash || box.x > sash.x) sash = box;
  }
  if (!sash) throw new Error(`no sash left of x=${x}`);
  const from = { x: sash.x + sash.width / 2, y: sash.y + sash.height / 2 };
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x + pixels / 2, from.y, { steps: 5 });
  await page.mouse.move(from.x + pixels, from.y, { steps: 5 });
  await page.mouse.up();
}

/** Returns the rows of a tree view whose label is `label`. */
export function treeRow(pane: Locator, label: string): Locator {
  return pane.locator('.monaco-list-row', {
    has: pane.page().locator('.label-name', { hasText: new RegExp(`^${literal(label).source}$`) }),
  });
}
