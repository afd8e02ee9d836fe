#!/usr/bin/env bash
#
# Test fixture: builds kvm-unit-tests for kvmtool, in the shape of Arm's build-kvm-unit-tests.sh.
# build-buildroot.sh copies the tree into the host root file system.
#
# Variables from the variant: KVM_UNIT_TESTS_PATH, LINUX_CROSS_COMPILE, LINUX_GCC_PATH.

do_build ()
{
	echo
	echo -e "${GREEN}Building kvm-unit-tests for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $KVM_UNIT_TESTS_PATH
	export PATH=$LINUX_GCC_PATH:$PATH
	./configure --arch=arm64 --cross-prefix=$LINUX_CROSS_COMPILE --target=kvmtool
	make -j $PARALLELISM
	popd
}

do_clean ()
{
	echo
	echo -e "${GREEN}Cleaning kvm-unit-tests for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $KVM_UNIT_TESTS_PATH
	make distclean
	popd
}

do_package ()
{
	echo
	echo -e "${GREEN}Packing kvm-unit-tests for $PLATFORM on [`date`]${NORMAL}"
	echo

	# Nothing to copy: build-buildroot.sh puts the tests into the host root file system.
}

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
source $DIR/framework.sh $@
