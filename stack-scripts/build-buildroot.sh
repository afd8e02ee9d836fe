#!/usr/bin/env bash
#
# CCA Realm Studio's buildroot step for the aemfvp-a-rme reference stack. It replaces
# build-scripts/build-buildroot.sh and, like that script, runs through framework.sh
# (`build-buildroot.sh -p aemfvp-a-rme build|clean|package`). It builds two root file systems:
#
#   1. the realm's, with REALM_OVERLAY_DIR laid over it, kept as realm-fs.ext4 and
#      realm-fs.cpio beside the realm kernel (a copy of the host kernel Image);
#   2. the host's (normal world), with kvmtool built from the stack's kvmtool/ sources, and
#      with the realm files above at /realm/ and NORMAL_WORLD_OVERLAY_DIR laid over it.
#
# framework.sh sets these from the platform configuration:
#   BUILDROOT_PATH          buildroot sources
#   BUILDROOT_CONFIG_FILE   the host root file system's buildroot configuration
#   BUILDROOT_GCC_PATH, BUILDROOT_CROSS_COMPILE   the external aarch64 toolchain
#   LINUX_PATH              Linux sources, built before this step (arch/arm64/boot/Image)
#   KVM_TOOL_PATH           kvmtool sources with the CCA patches
#   ROOTFS_OVERLAY          overlays the platform always applies (may be empty)
#   KVM_UNIT_TESTS_PATH, GUEST_NETWORK_UTILS   optional extras copied into the host file system
#   PARALLELISM, PLATFORM, OUTPUT_PLATFORM_DIR
#
# Variables a caller may set (the container must see these folders, so mount them too):
#   REALM_OVERLAY_DIR         files for the realm root file system (default: <stack>/../realm)
#   NORMAL_WORLD_OVERLAY_DIR  files for the host root file system (default: <stack>/../normal_world)
#   REALM_BUILDROOT_CONFIG    buildroot configuration of the realm (default: BUILDROOT_CONFIG_FILE)
#   HOST_ROOTFS_SIZE          size of host-fs.ext4, which carries the realm files (default: 1024M)

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STACK_ROOT=$(cd "$DIR/.." && pwd)

REALM_OVERLAY_DIR=${REALM_OVERLAY_DIR:-$STACK_ROOT/../realm}
NORMAL_WORLD_OVERLAY_DIR=${NORMAL_WORLD_OVERLAY_DIR:-$STACK_ROOT/../normal_world}
HOST_ROOTFS_SIZE=${HOST_ROOTFS_SIZE:-1024M}

fail() {
	echo "build-buildroot.sh: error: $*" >&2
	exit 1
}

# Prints an absolute, space-free folder path for BR2_ROOTFS_OVERLAY, which buildroot splits
# at spaces, or stops the build naming the variable to fix.
overlay_folder() {
	local name=$1 folder=$2
	[ -d "$folder" ] || fail "$name: folder '$folder' not found. Set $name to an existing" \
		"folder, and mount it into the build container at the same path."
	folder=$(cd "$folder" && pwd) || fail "$name: cannot enter '$folder'."
	case $folder in
	*[[:space:]]*) fail "$name: '$folder' contains white space, which buildroot's" \
		"BR2_ROOTFS_OVERLAY cannot hold. Move the folder to a path without spaces." ;;
	esac
	printf '%s\n' "$folder"
}

# Runs buildroot's utils/config on one configuration file.
br_config() {
	local config_file=$1
	shift
	"$BUILDROOT_PATH/utils/config" --file "$config_file" "$@"
}

# The realm builds out of tree so that the host build keeps buildroot's in-tree layout
# (.config, local.mk and output/ in BUILDROOT_PATH), which the rest of the stack expects.
realm_output() { printf '%s\n' "$BUILDROOT_PATH/output-realm"; }
staging_folder() { printf '%s\n' "$BUILDROOT_PATH/cca-host-overlay"; }

build_realm_rootfs() {
	local realm_overlay=$1 output
	output=$(realm_output)
	local config=${REALM_BUILDROOT_CONFIG:-$BUILDROOT_CONFIG_FILE}
	[ -f "$config" ] || fail "realm buildroot configuration '$config' not found."

	echo "Building the realm root file system with the overlay $realm_overlay"
	mkdir -p "$output" || return 1
	cp "$config" "$output/.config" || return 1
	br_config "$output/.config" --set-str BR2_ROOTFS_OVERLAY \
		"${ROOTFS_OVERLAY:+$ROOTFS_OVERLAY }$realm_overlay" || return 1
	# lkvm takes the realm's root file system either as an initrd (cpio) or as a disk (ext4).
	br_config "$output/.config" --enable BR2_TARGET_ROOTFS_CPIO --enable BR2_TARGET_ROOTFS_EXT2 \
		--enable BR2_TARGET_ROOTFS_EXT2_4 --disable BR2_PACKAGE_KVMTOOL || return 1
	make -C "$BUILDROOT_PATH" O="$output" olddefconfig || return 1
	make -C "$BUILDROOT_PATH" O="$output" BR2_JLEVEL="$PARALLELISM"
}

stage_realm_files() {
	local staging realm_images
	staging=$(staging_folder)
	realm_images="$(realm_output)/images"

	rm -rf "$staging" || return 1
	mkdir -p "$staging/realm" || return 1
	cp "$realm_images/rootfs.ext4" "$staging/realm/realm-fs.ext4" || return 1
	cp "$realm_images/rootfs.cpio" "$staging/realm/realm-fs.cpio" || return 1
	# e2fsck exits with 1 when it corrected something, which is not a failure.
	e2fsck -fp "$staging/realm/realm-fs.ext4" || [ $? -le 1 ] ||
		fail "e2fsck found errors it could not correct in realm-fs.ext4."
	[ -f "$LINUX_PATH/arch/arm64/boot/Image" ] ||
		fail "kernel '$LINUX_PATH/arch/arm64/boot/Image' not found; build Linux first."
	cp "$LINUX_PATH/arch/arm64/boot/Image" "$staging/realm/Image" || return 1

	if [ -n "${GUEST_NETWORK_UTILS:-}" ] && [ -d "$GUEST_NETWORK_UTILS" ]; then
		mkdir -p "$staging/realm/utils" || return 1
		cp -R "$GUEST_NETWORK_UTILS/." "$staging/realm/utils/" || return 1
	fi
	if [ -n "${KVM_UNIT_TESTS_PATH:-}" ] && [ -d "$KVM_UNIT_TESTS_PATH" ]; then
		cp -R "$KVM_UNIT_TESTS_PATH" "$staging/" || return 1
	fi
}

build_host_rootfs() {
	local normal_world_overlay=$1 staging config_file
	staging=$(staging_folder)
	config_file="$BUILDROOT_PATH/.config"

	echo "Building the host root file system with the overlays $staging $normal_world_overlay"
	cp "$BUILDROOT_CONFIG_FILE" "$config_file" || return 1
	br_config "$config_file" --enable BR2_PACKAGE_KVMTOOL || return 1
	br_config "$config_file" --set-str BR2_ROOTFS_OVERLAY \
		"${ROOTFS_OVERLAY:+$ROOTFS_OVERLAY }$staging $normal_world_overlay" || return 1
	br_config "$config_file" --set-str BR2_TARGET_ROOTFS_EXT2_SIZE "$HOST_ROOTFS_SIZE" || return 1
	# Build kvmtool from the stack's sources, which carry the CCA patches (lkvm run --realm).
	printf 'KVMTOOL_OVERRIDE_SRCDIR = %s\n' "$KVM_TOOL_PATH" >"$BUILDROOT_PATH/local.mk" || return 1
	make -C "$BUILDROOT_PATH" olddefconfig || return 1
	make -C "$BUILDROOT_PATH" -j"$PARALLELISM" kvmtool-rebuild || return 1
	make -C "$BUILDROOT_PATH" BR2_JLEVEL="$PARALLELISM"
}

do_build() {
	echo
	echo -e "${GREEN:-}Building Buildroot (realm and host) for $PLATFORM on [$(date)]${NORMAL:-}"
	echo

	local realm_overlay normal_world_overlay
	realm_overlay=$(overlay_folder REALM_OVERLAY_DIR "$REALM_OVERLAY_DIR") || exit 1
	normal_world_overlay=$(overlay_folder NORMAL_WORLD_OVERLAY_DIR "$NORMAL_WORLD_OVERLAY_DIR") ||
		exit 1

	export CROSS_COMPILE=$BUILDROOT_CROSS_COMPILE
	export PATH=$BUILDROOT_GCC_PATH:$PATH

	build_realm_rootfs "$realm_overlay" || fail "the realm root file system did not build."
	stage_realm_files || fail "staging the realm files for the host file system failed."
	build_host_rootfs "$normal_world_overlay" || fail "the host root file system did not build."
	rm -rf "$(staging_folder)"
}

do_clean() {
	echo
	echo -e "${GREEN:-}Cleaning Buildroot (realm and host) for $PLATFORM on [$(date)]${NORMAL:-}"
	echo

	rm -rf "$(realm_output)" "$(staging_folder)"
	if [ -f "$BUILDROOT_PATH/.config" ]; then
		make -C "$BUILDROOT_PATH" clean
	fi
}

do_package() {
	echo
	echo -e "${GREEN:-}Packing Buildroot for $PLATFORM on [$(date)]${NORMAL:-}"
	echo

	local host_image
	host_image="$BUILDROOT_PATH/output/images/rootfs.ext4"
	[ -f "$host_image" ] || fail "'$host_image' not found; run the build command first."
	mkdir -p "$OUTPUT_PLATFORM_DIR"
	cp "$host_image" "$OUTPUT_PLATFORM_DIR/host-fs.ext4"
}

# framework.sh parses -p <platform> and the command, loads the platform's variables, and
# calls do_build, do_clean or do_package.
# shellcheck source=/dev/null
source "$DIR/framework.sh" "$@"
