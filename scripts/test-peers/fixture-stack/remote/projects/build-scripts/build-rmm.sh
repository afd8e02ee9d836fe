#!/usr/bin/env bash
#
# Test fixture: builds the RMM with CMake, in the shape of Arm's build-rmm.sh. The fixture's
# rmm/CMakeLists.txt compiles runtime/core/handler.c with the host's gcc, so an edit with a
# syntax error fails with the compiler's own messages.
#
# Variables from the variant: RMM_PATH, RMM_BUILD_DIR, RMM_CONFIG, RMM_BUILD_TYPE,
# RMM_LOG_LEVEL, RMM_GCC_PATH, VARIANT_ELF.

do_prepare ()
{
	echo
	echo -e "${GREEN}Preparing RMM for $PLATFORM on [`date`]${NORMAL}"
	echo

	# Set Compiler
	export CROSS_COMPILE=$VARIANT_ELF-
	export PATH=$RMM_GCC_PATH:$PATH

	cmake -DRMM_CONFIG=${RMM_CONFIG} \
		-DCMAKE_BUILD_TYPE=${RMM_BUILD_TYPE} \
		-DLOG_LEVEL=${RMM_LOG_LEVEL} \
		-S ${RMM_PATH} \
		-B ${RMM_BUILD_DIR}
}

do_build ()
{
	echo
	echo -e "${GREEN}Building RMM for $PLATFORM on [`date`]${NORMAL}"
	echo

	# Set Compiler
	export CROSS_COMPILE=$VARIANT_ELF-
	export PATH=$RMM_GCC_PATH:$PATH

	cmake --build ${RMM_BUILD_DIR}
}

do_clean ()
{
	echo
	echo -e "${GREEN}Cleaning RMM for $PLATFORM on [`date`]${NORMAL}"
	echo

	rm -rf $RMM_BUILD_DIR
}

do_package ()
{
	echo
	echo -e "${GREEN}Packing RMM for $PLATFORM on [`date`]${NORMAL}"
	echo

	# Nothing to copy: the RMM image is packed into the TF-A FIP.
}

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
source $DIR/framework.sh $@
