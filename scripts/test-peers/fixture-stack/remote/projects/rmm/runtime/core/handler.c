/*
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Test fixture: runtime/core/handler.c in the shape of TF-RMM v0.4.0 (RMM specification
 * 1.0-EAC5), the RMM of the AEMFVP-A-RME-2023.12.22 stack. The handler table has the real
 * layout. The rest is a small self-contained stand-in, so that the fixture stack can compile
 * this file with the host's C compiler, and the handlers are stubs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* SMC64 fast calls in the standard secure service range. */
#define SMC64_STD_FID(_num)		(0xC4000000UL | (unsigned long)(_num))

#define SMC_RMM_VERSION			SMC64_STD_FID(0x150)
#define SMC_RMM_GRANULE_DELEGATE	SMC64_STD_FID(0x151)
#define SMC_RMM_GRANULE_UNDELEGATE	SMC64_STD_FID(0x152)
#define SMC_RMM_DATA_CREATE		SMC64_STD_FID(0x153)
#define SMC_RMM_DATA_CREATE_UNKNOWN	SMC64_STD_FID(0x154)
#define SMC_RMM_DATA_DESTROY		SMC64_STD_FID(0x155)
#define SMC_RMM_REALM_ACTIVATE		SMC64_STD_FID(0x157)
#define SMC_RMM_REALM_CREATE		SMC64_STD_FID(0x158)
#define SMC_RMM_REALM_DESTROY		SMC64_STD_FID(0x159)
#define SMC_RMM_REC_CREATE		SMC64_STD_FID(0x15A)
#define SMC_RMM_REC_DESTROY		SMC64_STD_FID(0x15B)
#define SMC_RMM_REC_ENTER		SMC64_STD_FID(0x15C)
#define SMC_RMM_RTT_CREATE		SMC64_STD_FID(0x15D)
#define SMC_RMM_RTT_DESTROY		SMC64_STD_FID(0x15E)
#define SMC_RMM_RTT_MAP_UNPROTECTED	SMC64_STD_FID(0x15F)
#define SMC_RMM_RTT_READ_ENTRY		SMC64_STD_FID(0x161)
#define SMC_RMM_RTT_UNMAP_UNPROTECTED	SMC64_STD_FID(0x162)
#define SMC_RMM_PSCI_COMPLETE		SMC64_STD_FID(0x164)
#define SMC_RMM_FEATURES		SMC64_STD_FID(0x165)
#define SMC_RMM_RTT_FOLD		SMC64_STD_FID(0x166)
#define SMC_RMM_REC_AUX_COUNT		SMC64_STD_FID(0x167)
#define SMC_RMM_RTT_INIT_RIPAS		SMC64_STD_FID(0x168)
#define SMC_RMM_RTT_SET_RIPAS		SMC64_STD_FID(0x169)

#define SMC_RMM_FID_FIRST		SMC_RMM_VERSION
#define SMC_RMM_FID_LAST		SMC_RMM_RTT_SET_RIPAS
#define SMC_RMM_HANDLER_ID(_fid)	((_fid) - SMC_RMM_FID_FIRST)

/* Status codes in the low byte of X0. */
#define RMI_SUCCESS			0UL
#define RMI_ERROR_INPUT			1UL
#define RMI_ERROR_REALM			2UL
#define RMI_ERROR_REC			3UL
#define RMI_ERROR_RTT			4UL

#define MAX_SMC_ARGS			7U
#define MAX_SMC_RESULTS			5U

struct smc_result {
	unsigned long x[MAX_SMC_RESULTS];
};

typedef void (*handler_fn)(const unsigned long *args, struct smc_result *res);

struct smc_handler {
	const char *fn_name;
	unsigned int num_args;
	unsigned int num_ret_values;
	handler_fn fn;
	bool log_exec;		/* print every call */
	bool log_error;		/* print the calls that fail */
};

/*
 * Each stub returns one status in X0 and zeros in the other output registers. The stubs
 * have external linkage, as the real handlers (defined in other files) do.
 */
#define STUB_HANDLER(_name, _status)						\
	void _name(const unsigned long *args, struct smc_result *res);		\
	void _name(const unsigned long *args, struct smc_result *res)		\
	{									\
		(void)args;							\
		for (unsigned int i = 0U; i < MAX_SMC_RESULTS; i++) {		\
			res->x[i] = 0UL;					\
		}								\
		res->x[0] = (_status);						\
	}

STUB_HANDLER(smc_version, 0x10000UL)
STUB_HANDLER(smc_granule_delegate, RMI_SUCCESS)
STUB_HANDLER(smc_granule_undelegate, RMI_SUCCESS)
STUB_HANDLER(smc_data_create, RMI_SUCCESS)
STUB_HANDLER(smc_data_create_unknown, RMI_SUCCESS)
STUB_HANDLER(smc_data_destroy, RMI_SUCCESS)
STUB_HANDLER(smc_realm_activate, RMI_SUCCESS)
STUB_HANDLER(smc_realm_create, RMI_SUCCESS)
STUB_HANDLER(smc_realm_destroy, RMI_SUCCESS)
STUB_HANDLER(smc_rec_create, RMI_SUCCESS)
STUB_HANDLER(smc_rec_destroy, RMI_SUCCESS)
STUB_HANDLER(smc_rec_enter, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_create, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_destroy, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_map_unprotected, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_read_entry, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_unmap_unprotected, RMI_SUCCESS)
STUB_HANDLER(smc_psci_complete, RMI_SUCCESS)
STUB_HANDLER(smc_read_feature_register, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_fold, RMI_SUCCESS)
STUB_HANDLER(smc_rec_aux_count, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_init_ripas, RMI_SUCCESS)
STUB_HANDLER(smc_rtt_set_ripas, RMI_SUCCESS)

/*
 * HANDLER(_id, _in, _out, _fn, _exec, _error): the command name without its SMC_RMM_ prefix,
 * the number of input arguments and of output values, the handler, log_exec (print every
 * call) and log_error (print the calls that do not return RMI_SUCCESS).
 */
#define HANDLER(_id, _in, _out, _fn, _exec, _error)			\
	[SMC_RMM_HANDLER_ID(SMC_RMM_##_id)] = {				\
		.fn_name = #_id,					\
		.num_args = (_in),					\
		.num_ret_values = (_out),				\
		.fn = (_fn),						\
		.log_exec = (_exec),					\
		.log_error = (_error)					\
	}

/*
 * The table is indexed by function id, so the order of the entries below is free.
 * Set the 5th argument (log_exec) to true to print every call of that command.
 */
static const struct smc_handler smc_handlers[] = {
	HANDLER(VERSION,		1, 2, smc_version,		 true,  true),
	HANDLER(REC_ENTER,		2, 0, smc_rec_enter,		 false, true),
	HANDLER(GRANULE_DELEGATE,	1, 0, smc_granule_delegate,	 false, true),
	HANDLER(GRANULE_UNDELEGATE,	1, 0, smc_granule_undelegate,	 false, true),
	HANDLER(DATA_CREATE,		5, 0, smc_data_create,		 false, false),
	HANDLER(DATA_CREATE_UNKNOWN,	3, 0, smc_data_create_unknown,	 false, false),
	HANDLER(DATA_DESTROY,		2, 2, smc_data_destroy,		 false, true),
	HANDLER(REALM_ACTIVATE,		1, 0, smc_realm_activate,	 false, true),
	HANDLER(REALM_CREATE,		2, 0, smc_realm_create,		 false, true),
	HANDLER(REALM_DESTROY,		1, 0, smc_realm_destroy,	 false, true),
	HANDLER(REC_CREATE,		3, 0, smc_rec_create,		 false, true),
	HANDLER(REC_DESTROY,		1, 0, smc_rec_destroy,		 false, true),
	HANDLER(RTT_CREATE,		4, 0, smc_rtt_create,		 false, true),
	HANDLER(RTT_DESTROY,		3, 2, smc_rtt_destroy,		 false, true),
	HANDLER(RTT_MAP_UNPROTECTED,	4, 0, smc_rtt_map_unprotected,	 false, false),
	HANDLER(RTT_READ_ENTRY,		3, 4, smc_rtt_read_entry,	 false, true),
	HANDLER(RTT_UNMAP_UNPROTECTED,	3, 1, smc_rtt_unmap_unprotected, false, false),
	HANDLER(PSCI_COMPLETE,		3, 0, smc_psci_complete,	 false, true),
	HANDLER(FEATURES,		1, 1, smc_read_feature_register, false, true),
	HANDLER(RTT_FOLD,		3, 1, smc_rtt_fold,		 false, true),
	HANDLER(REC_AUX_COUNT,		1, 1, smc_rec_aux_count,	 false, true),
	HANDLER(RTT_INIT_RIPAS,		3, 1, smc_rtt_init_ripas,	 false, true),
	HANDLER(RTT_SET_RIPAS,		4, 1, smc_rtt_set_ripas,	 false, true)
};

static const char *const rmi_status_names[] = {
	"RMI_SUCCESS", "RMI_ERROR_INPUT", "RMI_ERROR_REALM", "RMI_ERROR_REC", "RMI_ERROR_RTT"
};

/* Prints one RMI log line: the name padded to 21, the inputs, " > ", the status, the outputs. */
static void rmi_log_call(const struct smc_handler *handler, const unsigned long *args,
			 const struct smc_result *res)
{
	unsigned long status = res->x[0] & 0xFFUL;

	printf("SMC_RMM_%-21s", handler->fn_name);
	for (unsigned int i = 0U; i < handler->num_args; i++) {
		printf(" %lx", args[i]);
	}
	if (status < (sizeof(rmi_status_names) / sizeof(rmi_status_names[0]))) {
		printf(" > %s", rmi_status_names[status]);
	} else {
		printf(" > %lx", res->x[0]);
	}
	for (unsigned int i = 1U; i <= handler->num_ret_values; i++) {
		printf(" %lx", res->x[i]);
	}
	printf("\n");
}

/* Runs the handler of an RMI call from the normal world and logs it as its table entry sets. */
void handle_ns_smc(unsigned long function_id, const unsigned long args[MAX_SMC_ARGS],
		   struct smc_result *res)
{
	const struct smc_handler *handler;

	if ((function_id < SMC_RMM_FID_FIRST) || (function_id > SMC_RMM_FID_LAST)) {
		res->x[0] = 0xFFFFFFFFUL;	/* SMC_UNKNOWN */
		return;
	}
	handler = &smc_handlers[SMC_RMM_HANDLER_ID(function_id)];
	if (handler->fn == NULL) {
		res->x[0] = 0xFFFFFFFFUL;
		return;
	}

	handler->fn(args, res);

	if ((LOG_LEVEL >= 40) &&
	    (handler->log_exec || (handler->log_error && ((res->x[0] & 0xFFUL) != RMI_SUCCESS)))) {
		rmi_log_call(handler, args, res);
	}
}
