# Test fixture: the common part of the component build scripts, in the shape of Arm's
# build-scripts/framework.sh. A build-<component>.sh defines do_prepare, do_build, do_clean and
# do_package, then sources this file with its arguments: -p <platform> and one command.
#
# Knob: CCA_FIXTURE_BUILD_DELAY_MS adds that many milliseconds to every command, to make a
# build slow enough to watch or stop.

set -e

if [ -t 1 ]; then
	GREEN='\033[0;32m'
	RED='\033[0;31m'
	BOLD='\033[1m'
	NORMAL='\033[0m'
else
	GREEN=''
	RED=''
	BOLD=''
	NORMAL=''
fi

__print_usage()
{
	echo "Usage: ${0##*/} -p <platform> <command>"
	echo ""
	echo "  -p <platform>  the platform to build for: aemfvp-a-rme"
	echo "  <command>      prepare, build, clean, package or all (clean, prepare, build, package)"
	exit 1
}

PLATFORM=""
while getopts "p:f:h" opt; do
	case $opt in
		p) PLATFORM=$OPTARG ;;
		f) FILESYSTEM=$OPTARG ;;
		*) __print_usage ;;
	esac
done
CMD=${@:$OPTIND:1}

if [ -z "$PLATFORM" ]; then
	echo "[ERROR] No platform specified."
	__print_usage
fi
if [ "$PLATFORM" != "aemfvp-a-rme" ]; then
	echo "[ERROR] Unsupported platform: $PLATFORM"
	__print_usage
fi

PARALLELISM=$(getconf _NPROCESSORS_ONLN)
TOP_DIR=$(cd "$DIR/.." && pwd)
source "$DIR/configs/$PLATFORM/$PLATFORM"
mkdir -p "$OUTPUT_PLATFORM_DIR"

declare -F do_prepare >/dev/null || do_prepare() { :; }

__fixture_delay()
{
	local ms=${CCA_FIXTURE_BUILD_DELAY_MS:-0}
	[ "$ms" -gt 0 ] 2>/dev/null && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	return 0
}

case "$CMD" in
	prepare | build | clean | package)
		__fixture_delay
		"do_$CMD"
		;;
	all)
		__fixture_delay
		do_clean
		do_prepare
		do_build
		do_package
		;;
	"")
		echo "[ERROR] No command specified."
		__print_usage
		;;
	*)
		echo "[ERROR] Unsupported command: $CMD"
		__print_usage
		;;
esac
