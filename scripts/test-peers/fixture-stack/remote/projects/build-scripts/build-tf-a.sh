#!/usr/bin/env bash
#
# Test fixture: builds TF-A's BL1 and FIP, and TF-A tests (TFTF) with a second FIP for the
# standard tests, in the shape of Arm's build-tf-a.sh. The FIP contains the RMM image and
# Hafnium, so it must be rebuilt after either changes.
#
# Variables from the variant: TF_A_PATH, TF_A_PLAT, TF_A_DEBUG, TF_A_BUILD_TYPE, TF_A_RME_FLAGS,
# TF_A_PRELOADED_KERNEL_FLAGS, TF_A_TESTS_PATH, TF_A_TESTS_OUT_BIN, TF_A_GCC_PATH.

do_build ()
{
	echo
	echo -e "${GREEN}Building TF-A for $PLATFORM on [`date`]${NORMAL}"
	echo

	# Set Compiler
	export CROSS_COMPILE=$VARIANT_ELF-
	export PATH=$TF_A_GCC_PATH:$PATH

	pushd $TF_A_TESTS_PATH
	make PLAT=$TF_A_PLAT DEBUG=$TF_A_DEBUG ENABLE_REALM_PAYLOAD_TESTS=1 -j $PARALLELISM all
	popd

	pushd $TF_A_PATH
	make PLAT=$TF_A_PLAT DEBUG=$TF_A_DEBUG $TF_A_RME_FLAGS $TF_A_PRELOADED_KERNEL_FLAGS \
		-j $PARALLELISM all fip
	make PLAT=$TF_A_PLAT DEBUG=$TF_A_DEBUG $TF_A_RME_FLAGS BL33=$TF_A_TESTS_OUT_BIN \
		BUILD_BASE=build-std-tests -j $PARALLELISM all fip
	popd
}

do_clean ()
{
	echo
	echo -e "${GREEN}Cleaning TF-A for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $TF_A_PATH
	make PLAT=$TF_A_PLAT DEBUG=$TF_A_DEBUG distclean
	popd
	pushd $TF_A_TESTS_PATH
	make PLAT=$TF_A_PLAT DEBUG=$TF_A_DEBUG realclean
	popd

	rm -f $OUTPUT_PLATFORM_DIR/bl1.bin $OUTPUT_PLATFORM_DIR/fip.bin \
		$OUTPUT_PLATFORM_DIR/fip-std-tests.bin
}

do_package ()
{
	echo
	echo -e "${GREEN}Packing TF-A for $PLATFORM on [`date`]${NORMAL}"
	echo

	cp $TF_A_PATH/build/$TF_A_PLAT/$TF_A_BUILD_TYPE/bl1.bin $OUTPUT_PLATFORM_DIR/bl1.bin
	cp $TF_A_PATH/build/$TF_A_PLAT/$TF_A_BUILD_TYPE/fip.bin $OUTPUT_PLATFORM_DIR/fip.bin
	cp $TF_A_PATH/build-std-tests/$TF_A_PLAT/$TF_A_BUILD_TYPE/fip.bin \
		$OUTPUT_PLATFORM_DIR/fip-std-tests.bin
}

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
source $DIR/framework.sh $@
