#!/usr/bin/env bash
#
# Test fixture: builds Hafnium, the SPMC at S-EL2, in the shape of Arm's build-hafnium.sh.
#
# Variables from the variant: HAFNIUM_PATH, HAFNIUM_PROJECT, HAFNIUM_PLATFORM.

do_build ()
{
	echo
	echo -e "${GREEN}Building Hafnium for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $HAFNIUM_PATH
	make PROJECT=$HAFNIUM_PROJECT PLATFORM=$HAFNIUM_PLATFORM -j $PARALLELISM
	popd
}

do_clean ()
{
	echo
	echo -e "${GREEN}Cleaning Hafnium for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $HAFNIUM_PATH
	make clean
	popd
}

do_package ()
{
	echo
	echo -e "${GREEN}Packing Hafnium for $PLATFORM on [`date`]${NORMAL}"
	echo

	# Nothing to copy: Hafnium is packed into the TF-A FIP as BL32.
}

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
source $DIR/framework.sh $@
