#!/usr/bin/env bash
#
# Test fixture: builds the host kernel, in the shape of Arm's build-linux.sh. Like the real one,
# do_build applies the command-line patch to the kernel tree every time, and `make distclean`
# does not revert it, so a second build fails in `git apply` until that line is removed.
#
# Variables from the variant: LINUX_PATH, LINUX_ARCH, LINUX_CROSS_COMPILE, LINUX_GCC_PATH,
# LINUX_IMAGE, LINUX_CMD_LINE_EXTEND_PATCH.

do_build ()
{
	echo
	echo -e "${GREEN}Building Linux for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $LINUX_PATH
	# Set Compiler
	export CROSS_COMPILE=$LINUX_CROSS_COMPILE
	export PATH=$LINUX_GCC_PATH:$PATH
	export ARCH=$LINUX_ARCH

	git apply --ignore-space-change --whitespace=warn --inaccurate-eof -v $LINUX_CMD_LINE_EXTEND_PATCH
	make defconfig
	./scripts/config --enable CONFIG_ARM64_RME
	./scripts/config --enable CONFIG_VIRTIO_FS
	./scripts/config --enable CONFIG_9P_FS
	./scripts/config --set-str CONFIG_CMDLINE "cpuidle.off=1"
	make olddefconfig
	make -j$PARALLELISM $LINUX_IMAGE
	make -j$PARALLELISM modules
	popd
}

do_clean ()
{
	echo
	echo -e "${GREEN}Cleaning Linux for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $LINUX_PATH
	make distclean
	popd

	rm -f $OUTPUT_PLATFORM_DIR/Image
}

do_package ()
{
	echo
	echo -e "${GREEN}Packing Linux for $PLATFORM on [`date`]${NORMAL}"
	echo

	cp $LINUX_PATH/arch/arm64/boot/Image $OUTPUT_PLATFORM_DIR/Image
}

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
source $DIR/framework.sh $@
