/**
 * The logging surface the core writes to. VS Code's LogOutputChannel has these methods, so the
 * extension passes its channel straight in; the command line passes a console-backed logger.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that drops everything, for callers that do not log. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
