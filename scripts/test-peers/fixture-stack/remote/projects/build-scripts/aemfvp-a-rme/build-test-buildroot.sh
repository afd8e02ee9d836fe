#!/usr/bin/env bash
#
# Test fixture: builds the whole AEMFVP-A-RME stack for a buildroot file system, in the shape of
# Arm's build-scripts/aemfvp-a-rme/build-test-buildroot.sh. It runs every component script of
# the variant's BUILD_SCRIPTS with the command: `all` cleans, prepares and builds each component
# in turn, then packages them all into output/aemfvp-a-rme.

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
SCRIPTS_DIR=$( cd "$DIR/.." && pwd )

__print_usage()
{
	echo "Usage: ./build-scripts/aemfvp-a-rme/build-test-buildroot.sh -p <platform> <command>"
	echo ""
	echo "Builds the software stack of the platform with a buildroot file system."
	echo ""
	echo "  -p <platform>  aemfvp-a-rme"
	echo "  <command>      one of:"
	echo "                   all      clean, then build and package every component"
	echo "                   build    build every component"
	echo "                   package  copy the build products to output/<platform>"
	echo "                   clean    remove the build products"
	exit 1
}

PLATFORM=""
while getopts "p:h" opt; do
	case $opt in
		p) PLATFORM=$OPTARG ;;
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
case "$CMD" in
	all | build | package | clean) ;;
	"") echo "[ERROR] No command specified."; __print_usage ;;
	*) echo "[ERROR] Unsupported command: $CMD"; __print_usage ;;
esac

TOP_DIR=$(cd "$SCRIPTS_DIR/.." && pwd)
source "$SCRIPTS_DIR/configs/$PLATFORM/$PLATFORM"

__do_single_cmd()
{
	local build=$1 cmd=$2
	local section="$cmd for $build on $PLATFORM[$PLATFORM][buildroot]"
	echo "***********************************"
	echo "Execute $section"
	if ! "$SCRIPTS_DIR/$build" -p "$PLATFORM" "$cmd"; then
		echo "Command failed: $section"
		exit 1
	fi
	echo "Execute $section done."
	echo "-----------------------------------"
}

if [ "$CMD" = "all" ]; then
	for build in $BUILD_SCRIPTS; do
		__do_single_cmd $build clean
		__do_single_cmd $build prepare
		__do_single_cmd $build build
	done
	for build in $BUILD_SCRIPTS; do
		__do_single_cmd $build package
	done
else
	for build in $BUILD_SCRIPTS; do
		__do_single_cmd $build $CMD
	done
fi
