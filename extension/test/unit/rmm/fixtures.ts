// handler.c excerpts in each table shape, written for these tests. Columns are aligned with
// tabs before the function names and with padding after the log_exec token: `true,` is
// followed by two spaces and `false,` by one, so both log_error tokens start in one column.

const lines = (...rows: string[]): string => rows.join('\n') + '\n';

/** v0.1.0-v0.2.0 shape: `HANDLER_N(_id, _fn, _exec, _error)` with SMC_RMM_ ids. */
export const handlerN = lines(
  '#include <smc-rmi.h>',
  '',
  'static const struct smc_handler smc_handlers[] = {',
  '\tHANDLER_0(SMC_RMM_VERSION,\t\tsmc_version,\t\t\ttrue,  true),',
  '\tHANDLER_1(SMC_RMM_GRANULE_DELEGATE,\tsmc_granule_delegate,\t\tfalse, true),',
  '\tHANDLER_1(SMC_RMM_GRANULE_UNDELEGATE,\tsmc_granule_undelegate,\t\tfalse, true),',
  '\tHANDLER_5(SMC_RMM_DATA_CREATE,\t\tsmc_data_create,\t\tfalse, false),',
  '\tHANDLER_2(SMC_RMM_REALM_CREATE,\t\tsmc_realm_create,\t\ttrue,  true),',
  '\tHANDLER_3(SMC_RMM_REC_CREATE,\t\tsmc_rec_create,\t\t\tfalse, true),',
  '\tHANDLER_2(SMC_RMM_REC_ENTER,\t\tsmc_rec_enter,\t\t\tfalse, true),',
  '\tHANDLER_4(SMC_RMM_RTT_CREATE,\t\tsmc_rtt_create,\t\t\tfalse, true),',
  '};',
);

/** v0.3.0-v0.5.0 shape: six-argument `HANDLER` whose macro pastes SMC_RMM_ onto the id. */
export const handlerV03 = lines(
  '#define HANDLER(_id, _in, _out, _fn, _exec, _error)\t\\',
  '\t[SMC_RMM_##_id] = { .fn = (void *)_fn, .log_exec = _exec, .log_error = _error }',
  '',
  'static const struct smc_handler smc_handlers[] = {',
  '\tHANDLER(VERSION,\t\t0, 0, smc_version,\t\t\ttrue,  true),',
  '\tHANDLER(GRANULE_DELEGATE,\t1, 0, smc_granule_delegate,\t\tfalse, true),',
  '\tHANDLER(GRANULE_UNDELEGATE,\t1, 0, smc_granule_undelegate,\t\tfalse, true),',
  '\tHANDLER(REALM_CREATE,\t\t2, 0, smc_realm_create,\t\ttrue,  true),',
  '\tHANDLER(REC_CREATE,\t\t3, 0, smc_rec_create,\t\t\tfalse, true),',
  '\tHANDLER(REC_ENTER,\t\t2, 0, smc_rec_enter,\t\t\tfalse, true),',
  '\tHANDLER(RTT_CREATE,\t\t4, 0, smc_rtt_create,\t\t\tfalse, true),',
  '\tHANDLER(RTT_READ_ENTRY,\t\t3, 4, smc_rtt_read_entry,\t\tfalse, false),',
  '\tHANDLER(RTT_SET_RIPAS,\t\t5, 0, smc_rtt_set_ripas,\t\tfalse, true)',
  '};',
);

/** v0.6.0+ shape: six-argument `HANDLER` with SMC_RMI_ ids written in the entries. */
export const handlerV06 = lines(
  'static const struct smc_handler smc_handlers[] = {',
  '    HANDLER(SMC_RMI_VERSION,           1, 2, smc_version,            true,  true),',
  '    HANDLER(SMC_RMI_GRANULE_DELEGATE,  1, 0, smc_granule_delegate,   false, true),',
  '    HANDLER(SMC_RMI_DATA_CREATE,       5, 0, smc_data_create,        false, false),',
  '    HANDLER(SMC_RMI_REALM_CREATE,      2, 0, smc_realm_create,       true,  true),',
  '    HANDLER(SMC_RMI_REC_CREATE,        3, 0, smc_rec_create,         false, true),',
  '    HANDLER(SMC_RMI_REC_ENTER,         2, 0, smc_rec_enter,          false, true),',
  '    HANDLER(SMC_RMI_RTT_READ_ENTRY,    2, 4, smc_rtt_read_entry,     false, false),',
  '    HANDLER(SMC_RMI_RTT_SET_RIPAS,     4, 1, smc_rtt_set_ripas,      false, true),',
  '};',
);

/** Comments between and inside entries, an entry split over lines, `#if` and designators. */
export const handlerEdgeCases = lines(
  'static const struct smc_handler smc_handlers[] = {',
  '\t/* Version query: logged on every call. */',
  '\t[SMC_RMM_VERSION] = HANDLER(VERSION, 0, 0, smc_version,\ttrue,  true),',
  '\t// Granule state changes',
  '\tHANDLER(GRANULE_DELEGATE, 1, 0, smc_granule_delegate, /* exec */ false, /* error */ true),',
  '\tHANDLER(REC_CREATE,',
  '\t\t3, 0,',
  '\t\tsmc_rec_create,',
  '\t\tfalse,  // log_exec',
  '\t\ttrue),',
  '#ifdef RMM_V1_1',
  '\tHANDLER(RTT_SET_RIPAS, 5, 0, smc_rtt_set_ripas, false, true),',
  '#else',
  '\tHANDLER(RTT_SET_RIPAS, 4, 0, smc_rtt_set_ripas_v10, true,  false),',
  '#endif /* RMM_V1_1 */',
  '\tHANDLER(REC_ENTER, 2, 0, smc_rec_enter, false, true) /* last */',
  '};',
);

/** The v0.3.0-v0.5.0 fixture with Windows line endings. */
export const handlerCrlf = handlerV03.replace(/\n/g, '\r\n');

export const allFixtures: Record<string, string> = {
  handlerN,
  handlerV03,
  handlerV06,
  handlerEdgeCases,
  handlerCrlf,
};
