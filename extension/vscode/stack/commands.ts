import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { processRecordFile } from '../../core/stack/layout';
import { parseRealmProfile } from '../../core/stack/lkvm';
import { applyModifications, undoModifications } from '../../core/stack/modification-backups';
import { planModifications, previewModifications } from '../../core/stack/modifications';
import type { BootMode } from '../../core/stack/commands';
import { stepTitles, type StepId } from '../../core/stack/steps';
import { loginOrShellPrompt, type ConsoleManager } from '../consoles/manager';
import { StackController, StepError, type BuildChoice } from './controller';
import {
  explainLaunchFailure,
  hostConsole,
  launchRealm,
  pickRealmProfile,
  powerOffRealm,
  runServiceScript,
  startInferenceService,
  type RealmEntry,
} from './realm';
import { requireTrust } from '../trust';
import { stackSection } from './settings';
import { RealmsTree, StackTree, type StackNode } from './tree';

const realmsKey = 'ccaRealmStudio.stack.realms';
const previewScheme = 'cca-stack-preview';

/** Wires the Stack and Realms views and the stack commands into VS Code. */
export function registerStack(
  context: vscode.ExtensionContext,
  consoles: ConsoleManager,
  log: vscode.LogOutputChannel,
): StackController {
  const controller = new StackController(context, consoles, log);
  const realms = (): RealmEntry[] => context.workspaceState.get<RealmEntry[]>(realmsKey, []);
  const setRealms = async (entries: RealmEntry[]): Promise<void> => {
    await context.workspaceState.update(realmsKey, entries);
    realmsTree.refresh();
  };
  const stackTree = new StackTree(controller);
  const realmsTree = new RealmsTree(realms);
  const previews = new Map<string, string>();
  const previewEmitter = new vscode.EventEmitter<vscode.Uri>();

  // Runs a command's work with workspace trust and a clear error; returns undefined on failure.
  const guarded =
    <A extends unknown[]>(title: string, work: (...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<unknown> => {
      if (!requireTrust(title)) return undefined;
      try {
        return await work(...args);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error(`${title}: ${message}`);
        if (!(error instanceof StepError)) log.error(String((error as Error).stack));
        void vscode.window
          .showErrorMessage(`${title}: ${message}`, 'Open Log')
          .then((choice) => choice && log.show());
        return undefined;
      }
    };

  const build = async (choice?: BuildChoice): Promise<void> => {
    let picked = choice;
    if (!picked) {
      const items: (vscode.QuickPickItem & { choice?: BuildChoice })[] = [
        {
          label: 'Whole stack',
          description: 'build-test-buildroot.sh all',
          choice: { kind: 'all' },
        },
        {
          label: 'RMM and fip.bin',
          description: 'after a handler.c change: RMM, then TF-A build and package',
          choice: { kind: 'rmm' },
        },
        { label: 'One component…', description: 'build-<component>.sh build' },
        {
          label: 'Package',
          description: 'build-test-buildroot.sh package',
          choice: { kind: 'all', command: 'package' },
        },
        {
          label: 'Clean',
          description: 'build-test-buildroot.sh clean',
          choice: { kind: 'all', command: 'clean' },
        },
      ];
      const item = await vscode.window.showQuickPick(items, { title: 'Build the stack' });
      if (!item) return;
      picked = item.choice;
      if (!picked) {
        const component = await vscode.window.showInputBox({
          title: 'Build one component',
          prompt: 'Component, as in build-scripts/build-<component>.sh',
          value: 'rmm',
          validateInput: (text) =>
            /^[a-z0-9][a-z0-9_-]*$/i.test(text) ? undefined : 'Enter a name like rmm',
        });
        if (!component) return;
        picked = { kind: 'component', component };
      }
    }
    await controller.refresh();
    controller.checkDependencies('build');
    await controller.build(picked);
    void vscode.window.showInformationMessage('Build finished.');
  };

  const boot = async (mode?: BootMode): Promise<void> => {
    const chosen =
      mode ??
      ((
        await vscode.window.showQuickPick(
          [
            { label: 'shell', description: 'boot and keep the FVP running, with its consoles' },
            { label: 'validate', description: 'boot, check that each world came up, stop' },
          ],
          { title: 'Boot the FVP' },
        )
      )?.label as BootMode | undefined);
    if (!chosen) return;
    await controller.refresh();
    controller.checkDependencies('boot');
    const tracker = await controller.boot(chosen);
    if (chosen === 'shell') {
      // The FVP takes minutes to reach the normal world's login; the consoles' auto-login (when
      // on) logs in there. Tell the user once the prompt shows.
      void consoles
        .waitFor(hostConsole, loginOrShellPrompt, 30 * 60_000, true)
        .then(() =>
          vscode.window.showInformationMessage(`The normal world is up on ${hostConsole}.`),
        )
        .catch((error: unknown) =>
          log.warn(`Waiting for the normal world's login: ${String(error)}`),
        );
    }
    if (chosen === 'validate') {
      const lines = [...tracker.results.values()].map(
        (result) => `${result.world}: ${result.ok ? 'booted' : 'failed'}`,
      );
      const message = `Validate: ${lines.join(', ') || 'no result'}`;
      if (tracker.allWorldsBooted()) void vscode.window.showInformationMessage(message);
      else void vscode.window.showWarningMessage(message);
    }
  };

  // A profile argument (a settings entry) skips the pick, for keybindings and automation.
  const createRealm = async (given?: unknown): Promise<void> => {
    await controller.refresh();
    controller.checkDependencies('realm');
    const profile = given === undefined ? await pickRealmProfile(log) : parseRealmProfile(given);
    if (!profile) return;
    const entry: RealmEntry = {
      profile: profile.name,
      guestName: undefined,
      console: hostConsole,
      startedAt: new Date().toISOString(),
      state: 'booting',
    };
    await setRealms([...realms().filter((realm) => realm.state !== 'stopped'), entry]);
    const summary = await controller
      .track('realm', async () => {
        const result = await launchRealm(consoles, profile, realmTimeoutMs());
        entry.guestName = result.guestName;
        if (result.outcome !== 'login') {
          entry.state = 'failed';
          entry.detail = explainLaunchFailure(result);
          throw new StepError(entry.detail);
        }
        entry.state = 'running';
        return result;
      })
      .finally(() =>
        setRealms(realms().map((realm) => (realm.startedAt === entry.startedAt ? entry : realm))),
      );
    await controller.markRunning('realm');
    void vscode.window.showInformationMessage(
      `Realm ${summary.guestName ?? profile.name} is up on ${hostConsole}.`,
    );
  };

  const startInference = async (given?: { imageCount?: number }): Promise<void> => {
    await controller.refresh();
    controller.checkDependencies('inference');
    const config = vscode.workspace.getConfiguration(stackSection);
    const count =
      given?.imageCount !== undefined
        ? String(given.imageCount)
        : await vscode.window.showInputBox({
            title: 'Start the inference service',
            prompt: 'Number of images realm_inference classifies before it exits (-N)',
            value: String(config.get<number>('serviceImageCount', 100)),
            validateInput: (text) =>
              /^[1-9]\d*$/.test(text) ? undefined : 'Enter a whole number of 1 or more',
          });
    if (!count) return;
    const model = config.get<string>('realmModel', '/mobilenet_v1_1.0_224.tflite');
    const labels = config.get<string>('realmLabels', '/labels.txt');
    const script = config.get<string>('serviceScript', '/cca-inference-service.sh').trim();
    const status = await controller.track('inference', async () => {
      if (script !== '') {
        // The project's service script, laid into the realm by the realm overlay.
        const result = await runServiceScript(
          consoles,
          {
            script,
            imageCount: Number(count),
            model,
            labels,
            shareDir: '/root/shared_with_realm',
            tag: 'sh',
          },
          180_000,
        );
        if (result.outcome === 'failed')
          throw new StepError(result.message ?? 'the service script failed');
        if (result.outcome === 'pending') {
          throw new StepError(
            `${script} printed no status within 3 minutes; see the terminal_0 console`,
          );
        }
        return result.message ?? result.outcome;
      }
      // Without a script, the mount and start lines are typed one by one.
      const result = await startInferenceService(
        consoles,
        { model, labels, imageCount: Number(count) },
        120_000,
        shareOutput(),
      );
      if (result.outcome === 'failed')
        throw new StepError(result.error?.message ?? 'realm_inference failed');
      if (result.outcome === 'starting') {
        throw new StepError(
          'realm_inference printed nothing within 2 minutes; see the terminal_0 console',
        );
      }
      return result.events.some((e) => e.kind === 'already-running')
        ? 'realm_inference is already running'
        : 'realm_inference is running';
    });
    await controller.markRunning('inference');
    void vscode.window.showInformationMessage(`Inference service: ${status}.`);
  };

  // output.txt in the host's share folder: the FVP exports that folder to the normal world, which
  // passes it on to the realm.
  const shareOutput = (): string | undefined => {
    const { settings } = controller.settings();
    return settings.shareDir ? path.join(settings.shareDir, 'output.txt') : undefined;
  };

  const stopAll = async (): Promise<void> => {
    const running = realms().filter(
      (realm) => realm.state === 'running' || realm.state === 'booting',
    );
    if (running.length > 0 && consoles.get(hostConsole)) {
      try {
        await powerOffRealm(consoles, 60_000);
      } catch (error) {
        log.warn(`Realm power-off: ${String(error)}; stopping the FVP anyway`);
      }
    }
    await setRealms(realms().map((realm) => ({ ...realm, state: 'stopped' })));
    await controller.stop('boot');
    void vscode.window.showInformationMessage('The realm and the FVP are stopped.');
  };

  // `{ apply: true }` applies without the confirmation, for automation; the diff still opens.
  const applyMods = async (options?: { apply?: boolean }): Promise<void> => {
    const { settings, layout } = controller.settings();
    if (!settings.shareDir) {
      throw new StepError(
        'Set ccaRealmStudio.stack.shareDir to the host folder the FVP shares over 9p.',
      );
    }
    mkdirSync(settings.shareDir, { recursive: true });
    const plans = await planModifications(layout.root, { shareDir: settings.shareDir });
    const changes = plans.filter((plan) => plan.changed);
    if (changes.length === 0) {
      await controller.track('modifications', () => Promise.resolve());
      void vscode.window.showInformationMessage('The stack modifications are already applied.');
      return;
    }
    const uri = vscode.Uri.from({
      scheme: previewScheme,
      path: `/stack-modifications-${Date.now()}.diff`,
    });
    previews.set(uri.toString(), previewModifications(plans));
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(document, 'diff');
    await vscode.window.showTextDocument(document, { preview: true });
    const apply = 'Apply';
    const choice = options?.apply
      ? apply
      : await vscode.window.showInformationMessage(
          `Apply ${changes.length} change(s) to the stack? ${changes.map((plan) => plan.title).join('; ')}. ` +
            'The originals are backed up for undo.',
          { modal: true },
          apply,
        );
    if (choice !== apply) return;
    const result = await controller.track('modifications', () =>
      applyModifications(layout.root, plans),
    );
    void vscode.window.showInformationMessage(
      `Changed ${result.files.length} file(s); backup in ${path.relative(layout.root, result.backupFolder ?? layout.backupDir)}.`,
    );
  };

  const undoMods = async (): Promise<void> => {
    const { layout } = controller.settings();
    const result = await undoModifications(layout.root);
    await controller.refresh();
    void vscode.window.showInformationMessage(
      `Restored ${result.files.length} file(s) from the backup.`,
    );
  };

  const runStep = async (step: StepId): Promise<void> => {
    switch (step) {
      case 'prerequisites':
        await controller.checkPrerequisites();
        return;
      case 'container':
        await controller.buildContainer();
        return;
      case 'download':
        await controller.refresh();
        controller.checkDependencies('download');
        await controller.download();
        return;
      case 'modifications':
        await applyMods();
        return;
      case 'build':
        await build({ kind: 'all' });
        return;
      case 'boot':
        await boot('shell');
        return;
      case 'realm':
        await createRealm();
        return;
      case 'inference':
        await startInference();
    }
  };
  // Tree buttons pass the node; palette calls and tests pass the step's id.
  const stepOf = (node: StackNode | StepId | undefined): StepId | undefined => {
    if (typeof node === 'string') return node;
    if (node?.kind === 'step') return node.id;
    return undefined;
  };

  const watcher = vscode.workspace.createFileSystemWatcher(
    '**/{fip.bin,handler.c,run_model.sh,build-linux.sh,build-buildroot.sh}',
  );
  const refreshSoon = debounce(
    () => void controller.refresh().catch((error: unknown) => log.warn(String(error))),
    500,
  );

  context.subscriptions.push(
    controller,
    watcher,
    watcher.onDidChange(refreshSoon),
    watcher.onDidCreate(refreshSoon),
    watcher.onDidDelete(refreshSoon),
    // A save from the editor (a handler.c code action saves by itself) refreshes too: the file
    // watcher can miss folders that repo sync created in a burst, and their files with them.
    // NOTE: edits made outside VS Code in such a folder show only after Refresh Stack State.
    vscode.workspace.onDidSaveTextDocument((document) => {
      const relative = path.relative(controller.settings().layout.root, document.uri.fsPath);
      if (!relative.startsWith('..') && !path.isAbsolute(relative)) refreshSoon();
    }),
    vscode.window.registerTreeDataProvider('ccaRealmStudio.stack', stackTree),
    vscode.window.registerTreeDataProvider('ccaRealmStudio.realms', realmsTree),
    vscode.workspace.registerTextDocumentContentProvider(previewScheme, {
      onDidChange: previewEmitter.event,
      provideTextDocumentContent: (uri) => previews.get(uri.toString()) ?? '',
    }),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.checkPrerequisites',
      guarded('Prerequisites', () => controller.checkPrerequisites()),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.buildContainer',
      guarded('Container image', () => controller.buildContainer()),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.download',
      guarded('Download', () => runStep('download')),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.applyModifications',
      guarded('Modifications', (options?: { apply?: boolean }) => applyMods(options)),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.undoModifications',
      guarded('Undo modifications', undoMods),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.build',
      guarded('Build', (choice?: BuildChoice) => build(choice)),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.rebuildRmm',
      guarded('RMM rebuild', () => build({ kind: 'rmm' })),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.boot',
      guarded('Boot', (mode?: BootMode) => boot(mode)),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.createRealm',
      guarded('Realm', (profile?: unknown) => createRealm(profile)),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.startInference',
      guarded('Inference service', (options?: { imageCount?: number }) => startInference(options)),
    ),
    vscode.commands.registerCommand('ccaRealmStudio.stack.stop', guarded('Stop', stopAll)),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.runStep',
      guarded('Run step', async (node?: StackNode | StepId) => {
        const step = stepOf(node);
        if (step) await runStep(step);
      }),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.rerunStep',
      guarded('Rerun step', async (node?: StackNode | StepId) => {
        const step = stepOf(node);
        if (step) await runStep(step);
      }),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.stopStep',
      guarded('Stop step', async (node?: StackNode | StepId) => {
        const step = stepOf(node);
        if (step === 'boot' || step === 'realm' || step === 'inference') await stopAll();
        else if (step) await controller.stop(step);
      }),
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.openStepLog',
      async (node?: StackNode | StepId) => {
        const step = stepOf(node);
        if (!step) return;
        const file = controller.current()?.[step]?.logFile ?? controller.logFile(step);
        try {
          await vscode.window.showTextDocument(vscode.Uri.file(file));
        } catch {
          void vscode.window.showInformationMessage(
            `${stepTitles[step]} has no log yet (${file}).`,
          );
        }
      },
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.revealStepFolder',
      async (node?: StackNode | StepId) => {
        const step = stepOf(node);
        if (!step) return;
        const { settings, layout } = controller.settings();
        const folders: Record<StepId, string> = {
          prerequisites: layout.root,
          container: settings.dockerRepo,
          download: layout.root,
          modifications: layout.buildScriptsDir,
          build: layout.outputDir,
          boot: path.dirname(processRecordFile(layout, 'boot')),
          realm: layout.root,
          inference: settings.shareDir ?? layout.root,
        };
        await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(folders[step]));
      },
    ),
    vscode.commands.registerCommand(
      'ccaRealmStudio.stack.refresh',
      guarded('Refresh', () => controller.refresh()),
    ),
    vscode.commands.registerCommand('ccaRealmStudio.stack.state', async () => {
      await controller.refresh();
      return {
        steps: controller.current(),
        realms: realms(),
        prerequisites: controller.prerequisites(),
      };
    }),
    vscode.commands.registerCommand('ccaRealmStudio.realms.openConsole', async () => {
      await vscode.commands.executeCommand('ccaRealmStudio.openConsoles');
    }),
    vscode.commands.registerCommand(
      'ccaRealmStudio.realms.powerOff',
      guarded('Power off', async () => {
        await powerOffRealm(consoles, 60_000);
        await setRealms(realms().map((realm) => ({ ...realm, state: 'stopped' })));
        for (const step of ['inference', 'realm'] as const) await controller.stop(step);
      }),
    ),
  );
  // The first detection starts processes (docker image inspect): after activation returns.
  setTimeout(() => {
    void controller.refresh().catch((error: unknown) => log.warn(`Stack state: ${String(error)}`));
  }, 0);
  return controller;
}

function realmTimeoutMs(): number {
  return vscode.workspace.getConfiguration(stackSection).get<number>('realmTimeoutMs', 900_000);
}

function debounce(action: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, ms);
  };
}
