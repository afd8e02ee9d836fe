#!/usr/bin/env bash
#
# Test fixture: builds the root file systems with buildroot, in the shape of Arm's original
# build-buildroot.sh. It builds the realm's file system first, then the host's, with the realm's
# kernel and file system under /realm and kvm-unit-tests in an overlay, and kvmtool enabled.
#
# Variables from the variant: BUILDROOT_PATH, LINUX_PATH, KVM_TOOL_PATH, KVM_UNIT_TESTS_PATH,
# GUEST_NETWORK_UTILS, BUILDROOT_GCC_PATH, BUILDROOT_CROSS_COMPILE, BUILDROOT_CONFIG_FILE,
# ROOTFS_OVERLAY, OUTPUT_PLATFORM_DIR.

do_build ()
{
	echo
	echo -e "${GREEN}Building Buildroot for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $BUILDROOT_PATH
	# Set Compiler
	export CROSS_COMPILE=$BUILDROOT_CROSS_COMPILE
	export PATH=$BUILDROOT_GCC_PATH:$PATH

	# Build realm-fs
	cp ${BUILDROOT_CONFIG_FILE} .config
	./utils/config --set-val BR2_ROOTFS_OVERLAY "\"${ROOTFS_OVERLAY}\""
	make oldconfig
	make BR2_JLEVEL=$PARALLELISM

	# Build host-fs
	# Prepare overlay for realm (filesystem+kernel)
	mkdir -p $PWD/tmp_realm_overlay/realm
	cp $BUILDROOT_PATH/output/images/rootfs.ext4 ./tmp_realm_overlay/realm/realm-fs.ext4
	e2fsck -fp ./tmp_realm_overlay/realm/realm-fs.ext4
	resize2fs ./tmp_realm_overlay/realm/realm-fs.ext4 200M
	cp $LINUX_PATH/arch/arm64/boot/Image ./tmp_realm_overlay/realm/.
	make clean
	# Copy networking utils.
	mkdir -p $PWD/tmp_realm_overlay/realm/utils
	cp ${GUEST_NETWORK_UTILS}/* $PWD/tmp_realm_overlay/realm/utils/

	# Prepare overlay for kvm-unit-tests
	mkdir -p $PWD/tmp_kvm_overlay/
	cp -R $KVM_UNIT_TESTS_PATH ./tmp_kvm_overlay/.

	# Enable build of KvmTool & set up the path
	cp ${BUILDROOT_CONFIG_FILE} .config
	sed -i 's/#\sBR2_PACKAGE_KVMTOOL\sis\snot\sset/BR2_PACKAGE_KVMTOOL=y/' .config
	echo "KVMTOOL_OVERRIDE_SRCDIR = ${KVM_TOOL_PATH}" > local.mk
	# Set the overlays needed on the host-fs
	./utils/config --set-val BR2_ROOTFS_OVERLAY "\"${ROOTFS_OVERLAY} $PWD/tmp_realm_overlay $PWD/tmp_kvm_overlay\""
	./utils/config --set-val BR2_TARGET_ROOTFS_EXT2_SIZE "\"1024M\""
	make oldconfig
	make -j$PARALLELISM kvmtool-rebuild
	make BR2_JLEVEL=$PARALLELISM

	# Remove the temporary overlays
	rm -rf $PWD/tmp_realm_overlay
	rm -rf $PWD/tmp_kvm_overlay
	popd
}

do_clean ()
{
	echo
	echo -e "${GREEN}Cleaning Buildroot for $PLATFORM on [`date`]${NORMAL}"
	echo

	pushd $BUILDROOT_PATH
	make clean

	# Remove the temporary overlays if they are left in from previous incomplete builds
	rm -rf $PWD/tmp_realm_overlay
	rm -rf $PWD/tmp_kvm_overlay
	popd

	rm -f $OUTPUT_PLATFORM_DIR/host-fs.ext4
}

do_package ()
{
	echo
	echo -e "${GREEN}Packing Buildroot for $PLATFORM on [`date`]${NORMAL}"
	echo

	cp $BUILDROOT_PATH/output/images/rootfs.ext4 $OUTPUT_PLATFORM_DIR/host-fs.ext4
}

DIR=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )
source $DIR/framework.sh $@
