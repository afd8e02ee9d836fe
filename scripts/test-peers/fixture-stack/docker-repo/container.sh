#!/bin/bash
#
# Test fixture: the shape of Arm's container.sh for the AEMFVP-A-RME reference stack, which
# builds the `aemfvp-builder` image and starts an interactive container from it. It takes the
# same options and commands and prints the same errors. `build` calls `docker build`, and `run`
# calls `docker run -t -i`, through whichever `docker` comes first in PATH (the fixture's
# bin/docker in tests). CCA_FIXTURE_EUID replaces EUID in the root check, so that a test running
# as root can play a normal user.

set -e
export LANG=C

# The script's folder is the docker build context.
CONTEXT=$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )

# Defaults
HOST_DIR=""
HOST_ARCH=$(uname -m)
DOCKER_FILE="aemfvp-a-rme-${HOST_ARCH}"
IMAGE_NAME="aemfvp-builder"
OVERWRITE="false"
EFFECTIVE_UID="${CCA_FIXTURE_EUID:-$EUID}"

usage()
{
	echo "Usage: $0 [OPTIONS] [COMMAND]"
	echo ""
	echo "If no options are provided the script uses the default values"
	echo "defined in the 'Defaults' section."
	echo ""
	echo "Available options are:"
	echo "  -v  <path> absolute path to mount into the container;"
	echo "  -f  <file> docker file name;"
	echo "  -i  <name> docker image name;"
	echo "  -o  overwrites a previous built image;"
	echo "  -h  displays this help message and exits;"
	echo ""
	echo "Available commands are:"
	echo "  build  builds the docker image;"
	echo "  run    runs the container in interactive mode;"
	echo ""
	exit 1
}

cmd_error_msg()
{
	echo "Error: Only one command is accepted at a time."
	echo "       See usage below."
	echo ""
	usage
}

root_error_msg()
{
	echo "Error: Executing with root permissions is not allowed."
	exit 1
}

build_image()
{
	echo "Building docker image: $IMAGE_NAME ..."

	if [ "${OVERWRITE}" = "true" ]; then
		echo "Removing existing docker image ${IMAGE_NAME}"
		docker rmi -f ${IMAGE_NAME} || true
	fi

	docker build \
		--rm \
		--network host \
		-f ${CONTEXT}/container-files/${DOCKER_FILE} \
		--tag=${IMAGE_NAME} \
		--build-arg USER=${USER} \
		--build-arg UID=$(id -u) \
		--build-arg GID=$(id -g) \
		${CONTEXT}
	return 0
}

run_image()
{
	echo "Running docker image: $IMAGE_NAME ..."

	PARAMS=""
	# The folder is mounted at the same path inside the container.
	[ -z $HOST_DIR ] || PARAMS="${PARAMS} -v $HOST_DIR:$HOST_DIR"
	docker run \
		${PARAMS} \
		--env="DISPLAY" \
		--network host \
		--user ${USER}:${USER} \
		-t \
		-i \
		${IMAGE_NAME}
}

# Options may come before and after the command, so getopts runs once per command word.
ARGS=()
while [ $# -gt 0 ]; do
	while getopts :v:f:i:oh opt; do
		case $opt in
			v)
				HOST_DIR=$OPTARG
				;;
			f)
				DOCKER_FILE=$OPTARG
				;;
			i)
				IMAGE_NAME=$OPTARG
				;;
			o)
				OVERWRITE=true
				;;
			h)
				usage
				;;
			\?)
				echo "Invalid option: -$OPTARG" >&2
				exit 1
				;;
			:)
				echo "Option -$OPTARG requires an argument." >&2
				exit 1
				;;
		esac
	done
	[ $OPTIND -gt $# ] && break

	shift $((OPTIND - 1))
	OPTIND=1
	ARGS[${#ARGS[*]}]=$1
	shift
done

[ ${#ARGS[*]} -gt 1 ] && cmd_error_msg

[ "$EFFECTIVE_UID" -eq 0 ] && root_error_msg

case ${ARGS[*]} in
	build)
		build_image
		exit 0
		;;
	run)
		run_image
		exit 0
		;;
	*)
		echo "Error: Invalid or empty command."
		echo "       See usage below."
		echo ""
		usage
		;;
esac
