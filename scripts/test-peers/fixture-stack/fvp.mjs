// Test fixture: the "FVP" of the fixture stack, run as <fixture>/fvp/FVP_Base_RevC-2xAEMvA. It
// reads the model's command line (-C name=value, -f config files, --data, ...), takes four free
// telnet ports from 5000 upwards (or from bp.terminal_N.start_port) as the FVP does, starts the
// QEMU board of ../qemu-board.mjs on them and prints the FVP's
// `terminal_N: Listening for serial connection on port P` lines. bp.pl011_uartN.out_file becomes
// a log file of console N and bp.virtiop9device.root_path the board's 9p share. SIGTERM, SIGINT
// and SIGHUP stop the board; a watchdog stops it too if this process is killed outright.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BOARD_CONSOLES, startQemuBoard } from '../qemu-board.mjs';

const MODEL_NAME = 'FVP_Base_RevC_2xAEMvA';
const MODEL_VERSION = 'Fast Models [11.24.11 (Nov 23 2023)]';
const DEFAULT_START_PORT = 5000;
const START_ATTEMPTS = 3;
const LIVENESS_POLL_MS = 500;

/** Parameter names that the model has, by prefix; any other name draws a warning. */
const KNOWN_PARAMETER = /^(bp|cluster\d+|gic_distributor|pci|pctl|css)\.|^cache_state_modelled$/;

/** Command-line options of the model, and whether each takes a value. */
const OPTIONS = new Map([
  ['-C', true],
  ['--parameter', true],
  ['-f', true],
  ['--config-file', true],
  ['--data', true],
  ['-a', true],
  ['--application', true],
  ['-Q', true],
  ['--quantum', true],
  ['--plugin', true],
  ['--timelimit', true],
  ['--cyclelimit', true],
  ['-R', false],
  ['--run', false],
  ['--stat', false],
  ['-S', false],
  ['--cadi-server', false],
  ['-I', false],
  ['--iris-server', false],
  ['-p', false],
  ['--print-port-number', false],
  ['--version', false],
  ['-h', false],
  ['--help', false],
]);

function warn(message) {
  process.stderr.write(`Warning: ${MODEL_NAME}: ${message}\n`);
}

function fatal(message) {
  process.stderr.write(`Error: ${MODEL_NAME}: ${message}\n`);
  process.exit(1);
}

/** Adds one `name=value` parameter; a name the model does not have is ignored with a warning. */
function addParameter(parameters, text, origin) {
  const index = text.indexOf('=');
  if (index <= 0) return fatal(`${origin}: expected <parameter>=<value>, got '${text}'`);
  const name = text.slice(0, index).trim();
  // NOTE: the wording of this warning is the fixture's own; the real model's text is not known here.
  if (!KNOWN_PARAMETER.test(name)) return warn(`Ignoring unknown parameter '${name}'`);
  parameters.set(name, text.slice(index + 1).trim());
}

/** Reads a model configuration file: one `name=value` per line, `#` starts a comment. */
function readConfigFile(parameters, file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return fatal(`cannot read configuration file '${file}': ${error.message}`);
  }
  for (const line of text.split('\n')) {
    const content = line.replace(/#.*/, '').trim();
    if (content) addParameter(parameters, content, file);
  }
}

function parseCommandLine(argv) {
  const parameters = new Map();
  const flags = new Set();
  const data = [];
  for (let i = 0; i < argv.length; i += 1) {
    let option = argv[i];
    let value;
    if (/^-C./.test(option)) [option, value] = ['-C', option.slice(2)];
    else if (option.startsWith('--') && option.includes('=')) {
      [option, value] = [
        option.slice(0, option.indexOf('=')),
        option.slice(option.indexOf('=') + 1),
      ];
    }
    if (!OPTIONS.has(option)) {
      warn(`Ignoring unknown command line option '${option}'`);
      continue;
    }
    if (!OPTIONS.get(option)) {
      flags.add(option);
      continue;
    }
    value ??= argv[(i += 1)];
    if (value === undefined) return fatal(`option '${option}' needs a value`);
    if (option === '-C' || option === '--parameter') addParameter(parameters, value, option);
    else if (option === '-f' || option === '--config-file') readConfigFile(parameters, value);
    else if (option === '--data') data.push(value);
  }
  return { parameters, flags, data };
}

/** Resolves once `port` on 127.0.0.1 is known to be free (true) or taken (false). */
function isPortFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Picks a port per terminal: its start port or the next free one, none taken twice.
 * NOTE: QEMU binds the ports after this check, so another process can take one in between;
 * startBoard then picks again, at most START_ATTEMPTS times.
 */
async function pickPorts(parameters) {
  const ports = [];
  for (const index of BOARD_CONSOLES.keys()) {
    const start = Number(parameters.get(`bp.terminal_${index}.start_port`) ?? DEFAULT_START_PORT);
    if (!Number.isInteger(start) || start < 1 || start > 65535) {
      return fatal(`bp.terminal_${index}.start_port: invalid port ${start}`);
    }
    let port = start;
    while (ports.includes(port) || !(await isPortFree(port))) {
      port += 1;
      if (port > 65535) return fatal(`terminal_${index}: no free port from ${start}`);
    }
    ports.push(port);
  }
  return ports;
}

function isTrue(value) {
  return value !== undefined && !['0', 'false'].includes(value.toLowerCase());
}

/** Prints what the model does for its xterms: without a display, each xterm fails. */
function reportTerminals(parameters) {
  if (process.env.DISPLAY) return;
  for (const index of BOARD_CONSOLES.keys()) {
    if (isTrue(parameters.get(`bp.terminal_${index}.start_telnet`) ?? '1')) {
      process.stderr.write("xterm: Xt error: Can't open display: \nxterm: DISPLAY is not set\n");
    }
  }
}

/** Prints the flash loaders' lines for BL1 and the FIP, or a warning when a file is missing. */
function reportFlashImages(parameters) {
  const loaders = [
    ['bp.secureflashloader.fname', 'bp.secureflashloader'],
    ['bp.flashloader0.fname', 'bp.flashloader0'],
  ];
  for (const [parameter, component] of loaders) {
    const file = parameters.get(parameter);
    if (!file) continue;
    const stats = statSync(file, { throwIfNoEntry: false });
    if (!stats?.isFile()) {
      warn(`${MODEL_NAME}.${component}: FlashLoader: cannot open file '${file}'`);
      continue;
    }
    const kilobytes = Math.ceil(stats.size / 1024).toLocaleString('en-US');
    process.stdout.write(
      `\nInfo: ${MODEL_NAME}: ${MODEL_NAME}.${component}: FlashLoader: Loaded ${kilobytes} kB ` +
        `from file '${file}'\n`,
    );
  }
}

function checkDataFiles(parameters, data) {
  for (const entry of data) {
    const file = /=(.*?)(@0x[0-9a-fA-F]+)?$/.exec(entry)?.[1];
    if (!file || !existsSync(file)) warn(`--data ${entry}: cannot open file '${file}'`);
  }
  const disk = parameters.get('bp.virtioblockdevice.image_path');
  if (disk && !existsSync(disk)) warn(`bp.virtioblockdevice: cannot open image '${disk}'`);
}

function boardOptions(parameters, ports) {
  const logFiles = BOARD_CONSOLES.map((_, index) => {
    const file = parameters.get(`bp.pl011_uart${index}.out_file`);
    return file && file !== '-' ? path.resolve(file) : undefined;
  });
  const root = parameters.get('bp.virtiop9device.root_path');
  const shareDir = root ? path.resolve(root) : undefined;
  if (shareDir && !statSync(shareDir, { throwIfNoEntry: false })?.isDirectory()) {
    fatal(`bp.virtiop9device.root_path: '${root}' is not a folder`);
  }
  return { ports, logFiles, shareDir };
}

/** Starts the board, picking new ports when another process took one in the meantime. */
async function startBoard(parameters) {
  for (let attempt = 1; ; attempt += 1) {
    const options = boardOptions(parameters, await pickPorts(parameters));
    try {
      return await startQemuBoard(options);
    } catch (error) {
      if (attempt >= START_ATTEMPTS) return fatal(`cannot start the simulation: ${error.message}`);
    }
  }
}

/** Returns the start time of a process, so that a later process with the same PID does not count. */
function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

// Runs in its own session: when this process is gone (SIGKILL included) while QEMU still runs,
// it kills QEMU's process group. It exits as soon as QEMU is gone.
const WATCHDOG_SCRIPT = `
start_of() {
  s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  set -- $s
  [ "$1" = Z ] && return 1
  shift 19
  echo "$1"
}
while [ "$(start_of "$3")" = "$4" ]; do
  if [ "$(start_of "$1")" != "$2" ]; then
    kill -TERM -"$3" 2>/dev/null
    sleep 2
    [ "$(start_of "$3")" = "$4" ] && kill -KILL -"$3" 2>/dev/null
    exit 0
  fi
  sleep 0.5
done
`;

function startWatchdog(qemuPid) {
  const args = [process.pid, startTimeOf(process.pid), qemuPid, startTimeOf(qemuPid)].map(String);
  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'fvp-watchdog', ...args], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
}

function printStatistics(startedAt) {
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const { userCPUTime, systemCPUTime } = process.resourceUsage();
  const lines = [
    '',
    `--- ${MODEL_NAME} statistics: ${'-'.repeat(40)}`,
    `Simulated time                          : ${(wallSeconds * 0.7).toFixed(6)}s`,
    `User time                               : ${(userCPUTime / 1e6).toFixed(6)}s`,
    `System time                             : ${(systemCPUTime / 1e6).toFixed(6)}s`,
    `Wall time                               : ${wallSeconds.toFixed(6)}s`,
    `Performance index                       : 0.70`,
    '-'.repeat(79),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main() {
  const startedAt = performance.now();
  // The real model's command line names its binary; the product finds the FVP by that name.
  process.title = 'FVP_Base_RevC-2xAEMvA';
  const { parameters, flags, data } = parseCommandLine(process.argv.slice(2));
  if (flags.has('--version')) {
    process.stdout.write(
      `${MODEL_VERSION}\nCopyright 2000-2023 ARM Limited.\nAll Rights Reserved.\n`,
    );
    return;
  }
  if (flags.has('-h') || flags.has('--help')) {
    process.stdout.write(
      `usage: ${path.basename(process.argv[1])} [options]\n(fixture stand-in)\n`,
    );
    return;
  }
  checkDataFiles(parameters, data);

  // A stop request from the moment the board starts is honoured: the handlers come before the
  // port lines, which are what tells a caller the model runs.
  let board;
  let stopping = false;
  const stop = async (message) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${message}\n`);
    // While the board starts, the code after startBoard() finishes the stop.
    if (!board) return;
    await board.stop();
    if (flags.has('--stat')) printStatistics(startedAt);
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(signal, () => void stop('Info: /OSCI/SystemC: Simulation stopped by user.'));
  }

  board = await startBoard(parameters);
  if (stopping) {
    await board.stop();
    process.exit(0);
  }
  for (const [index, port] of board.ports.entries()) {
    process.stdout.write(`terminal_${index}: Listening for serial connection on port ${port}\n`);
  }
  reportTerminals(parameters);
  reportFlashImages(parameters);
  startWatchdog(board.pid);

  // The guest powering off ends QEMU, and with it the simulation.
  const qemuStart = startTimeOf(board.pid);
  setInterval(() => {
    if (startTimeOf(board.pid) !== qemuStart) void stop('Info: Simulation is terminating.');
  }, LIVENESS_POLL_MS);
}

await main();
