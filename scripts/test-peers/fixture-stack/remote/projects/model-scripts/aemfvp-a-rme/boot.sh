#!/bin/bash
#
# Test fixture: boots the AEMFVP-A-RME stack on the FVP, in the shape of Arm's
# model-scripts/aemfvp-a-rme/boot.sh. Run it from the stack's root folder:
#   ./model-scripts/aemfvp-a-rme/boot.sh -p aemfvp-a-rme shell|validate
# The model is $FVP_DIR/FVP_Base_RevC-2xAEMvA, or $MODEL (older releases), checked as given:
# a literal "~" is not expanded.
#
# Knob: CCA_FIXTURE_VALIDATE_TIMEOUT, how many seconds `validate` waits for the normal world's
# banner before it stops the model (default 300; the real script waits without a limit).

print_usage ()
{
	echo ""
	echo "Usage: ./model-scripts/aemfvp-a-rme/boot.sh -p <platform> <boot_mode>"
	echo ""
	echo "Boots the stack to buildroot console on a specified platform."
	echo "The login details are 'root' for both user and password."
	echo ""
	echo "Mandatory argument <boot_mode> is one of the following:"
	echo "  shell - Boots the software stack and fvp for interactive usage."
	echo "  validate - Boots the software stack and fvp, and parses the log"
	echo "	     files to validate that four worlds were successfully booted."
	echo ""
}

# Defaults
platform=aemfvp-a-rme
while getopts "p:h" opt; do
	case $opt in
		p) platform=$OPTARG ;;
		*) print_usage; exit 1 ;;
	esac
done
if [ "$platform" != "aemfvp-a-rme" ]; then
	echo ""
	echo "[ERROR]: unsupported platform $platform"
	print_usage
	exit 1
fi

out_dir="output/$platform"
BL1="$out_dir/bl1.bin"
FIP="$out_dir/fip.bin"
IMAGE="$out_dir/Image"
FS="$out_dir/host-fs.ext4"

if [ -n "$FVP_DIR" ]; then
	MODEL="$FVP_DIR/FVP_Base_RevC-2xAEMvA"
elif [ ! -e "$MODEL" ]; then
	MODEL=$(pwd)"/FVP/Base_RevC_AEMvA_pkg/models/Linux64_GCC-9.3/FVP_Base_RevC-2xAEMvA"
fi

function 4_world_boot_test {
	local timeout=${CCA_FIXTURE_VALIDATE_TIMEOUT:-300}
	local waited=0

	# Launch the model and wait for the normal world's banner on UART0.
	$cmd > >(tee $LOG_DIR/$modellog) 2>&1 &
	FVP_PID=$!
	until grep -q "Welcome to Buildroot" $LOG_DIR/$uart0log 2>/dev/null; do
		if ! kill -0 $FVP_PID 2>/dev/null; then
			echo "[ERROR]: the model exited before the normal world booted"
			break
		fi
		if [ $waited -ge $((timeout * 10)) ]; then
			echo "[ERROR]: no \"Welcome to Buildroot\" in $LOG_DIR/$uart0log after ${timeout}s"
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done

	# Stop the model launched above.
	kill $FVP_PID 2>/dev/null
	wait $FVP_PID 2>/dev/null
	sleep 1

	local secure_status=1
	local rmm_status=1
	local nonsecure_status=1

	# Parse secure world string
	grep -q "INFO: Hafnium initialisation completed" $LOG_DIR/$uart0log
	secure_status=$?
	[ $secure_status == 0 ] \
		&& echo "[INFO]: Secure world boot successful" \
		|| echo "[ERROR]: Secure world boot unsuccessful"

	# Parse realm world string
	grep -q "INFO.*RMM init end" $LOG_DIR/$uart0log
	rmm_status=$?
	[ $rmm_status == 0 ] \
		&& echo "[INFO]: Realm world boot successful" \
		|| echo "[ERROR]: Realm world boot unsuccessful"

	# Parse non-secure world string
	grep -q "Welcome to Buildroot" $LOG_DIR/$uart0log
	nonsecure_status=$?
	[ $nonsecure_status == 0 ] \
		&& echo "[INFO]: Non-Secure world boot successful" \
		|| echo "[ERROR]: Non-Secure world boot unsuccessful"

	if [[ $secure_status == 0 && $rmm_status == 0 && $nonsecure_status == 0 ]]; then
		echo "[INFO]: Four world boot successful"
		return 0
	fi
	echo "[ERROR]: Four world boot unsuccessful"
	return 1
}

# Parse the boot_mode after the optional arguments
BOOT_MODE=${@:$OPTIND:1}

source ./model-scripts/$platform/run_model.sh

case $BOOT_MODE in
	"")
		echo "BOOT_MODE default"
		;&
	"shell")
		echo "BOOT FVP FOR INTERACTIVE USAGE"
		bash -c "${cmd}"
		;;

	"validate")
		echo "VALIDATE FOUR WORLD BOOT"
		4_world_boot_test
		[ $? -eq 0 ] && exit 0 || exit 1
		;;
	*)
		echo ""
		echo "[ERROR]: unsupported or missing boot_mode"
		print_usage
		exit 1
		;;
esac
