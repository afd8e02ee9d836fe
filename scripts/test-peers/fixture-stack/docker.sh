#!/bin/bash
#
# Test fixture: a stand-in for the docker client, installed as <fixture>/bin/docker. There is no
# engine: `build` records the image in <fixture>/fixture-state/docker/images, and `run` runs the
# command on the host, in the -w folder, with <fixture>/bin first in PATH. It accepts the options
# that Arm's container.sh and CCA Realm Studio pass, and prints docker's own messages for the
# failures it models. Anything else fails with a message that starts with "docker (fixture):".
#
# Knobs:
#   CCA_FIXTURE_DOCKER_ENGINE=down  every command that needs the engine fails as a client whose
#                                   engine is not running does.
# Every CCA_FIXTURE_* variable of the client's environment is passed into `docker run`, so that
# knobs set for a test reach the commands that run "in the container".

set -u

FIXTURE_ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
IMAGES_DIR="$FIXTURE_ROOT/fixture-state/docker/images"
CLIENT_VERSION="24.0.7"
DAEMON_DOWN="Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
# The PATH of the image, after the fixture's bin/ folder.
IMAGE_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

fixture_error() {
	echo "docker (fixture): $*" >&2
	exit 125
}

engine_up() {
	[ "${CCA_FIXTURE_DOCKER_ENGINE:-up}" != "down" ]
}

# Adds :latest to an image name without a tag.
image_reference() {
	local name=$1
	case "${name##*/}" in
	*:*) echo "$name" ;;
	*) echo "$name:latest" ;;
	esac
}

image_file() {
	local reference
	reference=$(image_reference "$1")
	echo "$IMAGES_DIR/${reference//\//%2F}"
}

# Prints one field (Id, Created, User, WorkingDir) of a recorded image.
image_field() {
	sed -n "s/^$2=//p" "$1"
}

cmd_version() {
	echo "Client:"
	echo " Version:           $CLIENT_VERSION"
	echo " API version:       1.43"
	echo " OS/Arch:           linux/$(go_arch)"
	echo " Context:           default"
	echo ""
	if ! engine_up; then
		echo "$DAEMON_DOWN" >&2
		exit 1
	fi
	echo "Server: Docker Engine - Community (fixture stand-in)"
	echo " Engine:"
	echo "  Version:          $CLIENT_VERSION"
}

go_arch() {
	case "$(uname -m)" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

cmd_info() {
	local format=""
	while [ $# -gt 0 ]; do
		case "$1" in
		-f | --format) format=${2-}; shift 2 || fixture_error "--format needs a value" ;;
		--format=*) format=${1#--format=}; shift ;;
		*) echo "unknown flag: $1" >&2; echo "See 'docker info --help'." >&2; exit 1 ;;
		esac
	done

	if [ -n "$format" ]; then
		if ! engine_up; then
			echo "$DAEMON_DOWN" >&2
			exit 1
		fi
		case "$format" in
		*'{{.ServerVersion}}'*) echo "${format//\{\{.ServerVersion\}\}/$CLIENT_VERSION}" ;;
		*) fixture_error "info --format supports only {{.ServerVersion}}, got $format" ;;
		esac
		return
	fi

	echo "Client:"
	echo " Version:    $CLIENT_VERSION"
	echo " Context:    default"
	echo " Debug Mode: false"
	echo ""
	echo "Server:"
	if ! engine_up; then
		echo "ERROR: $DAEMON_DOWN" >&2
		echo "errors pretty printing info" >&2
		exit 1
	fi
	local count=0
	[ -d "$IMAGES_DIR" ] && count=$(find "$IMAGES_DIR" -type f | wc -l)
	echo " Containers: 0"
	echo " Images: $count"
	echo " Server Version: $CLIENT_VERSION"
	echo " Storage Driver: overlay2"
	echo " Operating System: fixture stand-in (commands run on the host)"
	echo " Architecture: $(uname -m)"
	echo " Docker Root Dir: $FIXTURE_ROOT/fixture-state/docker"
}

# Prints BuildKit's plain progress for the instructions of a Dockerfile.
print_build_steps() {
	local dockerfile=$1 tag=$2 image_id=$3
	local steps=() line total index step=4

	while IFS= read -r line; do
		case "$line" in
		FROM\ * | RUN\ * | COPY\ * | ADD\ * | WORKDIR\ *) steps+=("$line") ;;
		esac
	done <"$dockerfile"
	total=${#steps[@]}

	echo "#0 building with \"default\" instance using docker driver"
	echo ""
	echo "#1 [internal] load build definition from $(basename "$dockerfile")"
	echo "#1 transferring dockerfile: $(wc -c <"$dockerfile")B done"
	echo "#1 DONE 0.0s"
	echo ""
	echo "#2 [internal] load metadata for docker.io/library/${steps[0]#FROM }"
	echo "#2 DONE 0.1s"
	echo ""
	echo "#3 [internal] load .dockerignore"
	echo "#3 transferring context: 2B done"
	echo "#3 DONE 0.0s"
	for index in "${!steps[@]}"; do
		echo ""
		echo "#$step [$((index + 1))/$total] ${steps[$index]}"
		echo "#$step DONE 0.$((RANDOM % 9))s"
		step=$((step + 1))
	done
	echo ""
	echo "#$step exporting to image"
	echo "#$step exporting layers done"
	echo "#$step writing image $image_id done"
	echo "#$step naming to docker.io/library/$tag done"
	echo "#$step DONE 0.0s"
}

cmd_build() {
	local dockerfile="" tags=() build_args=() context=() user=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--rm | --no-cache | --pull | -q | --quiet) shift ;;
		--network | --progress) shift 2 || fixture_error "$1 needs a value" ;;
		--network=* | --progress=*) shift ;;
		-f | --file) dockerfile=${2-}; shift 2 || fixture_error "$1 needs a value" ;;
		--file=*) dockerfile=${1#--file=}; shift ;;
		-t | --tag) tags+=("${2-}"); shift 2 || fixture_error "$1 needs a value" ;;
		--tag=*) tags+=("${1#--tag=}"); shift ;;
		--build-arg) build_args+=("${2-}"); shift 2 || fixture_error "$1 needs a value" ;;
		--build-arg=*) build_args+=("${1#--build-arg=}"); shift ;;
		-*) echo "unknown flag: $1" >&2; echo "See 'docker build --help'." >&2; exit 1 ;;
		*) context+=("$1"); shift ;;
		esac
	done

	if [ ${#context[@]} -ne 1 ]; then
		echo "ERROR: \"docker buildx build\" requires exactly 1 argument." >&2
		echo "See 'docker buildx build --help'." >&2
		exit 1
	fi
	if ! engine_up; then
		echo "ERROR: $DAEMON_DOWN" >&2
		exit 1
	fi
	if [ ! -d "${context[0]}" ]; then
		echo "ERROR: unable to prepare context: path \"${context[0]}\" not found" >&2
		exit 1
	fi
	[ -n "$dockerfile" ] || dockerfile="${context[0]}/Dockerfile"
	if [ ! -f "$dockerfile" ]; then
		echo "ERROR: failed to solve: failed to read dockerfile: open $dockerfile: no such file or directory" >&2
		exit 1
	fi

	local arg
	for arg in "${build_args[@]}"; do
		case "$arg" in USER=*) user=${arg#USER=} ;; esac
	done
	[ ${#tags[@]} -gt 0 ] || tags=("")
	local image_id
	image_id="sha256:$( (cat "$dockerfile"; printf '%s\n' "${build_args[@]}") | sha256sum | cut -d' ' -f1)"

	print_build_steps "$dockerfile" "$(image_reference "${tags[0]:-<none>}")" "$image_id" >&2
	sleep 0.2

	mkdir -p "$IMAGES_DIR"
	local tag created
	created=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
	for tag in "${tags[@]}"; do
		[ -n "$tag" ] || continue
		{
			echo "Id=$image_id"
			echo "Created=$created"
			echo "User=$user"
			echo "WorkingDir=/home/$user"
			echo "Dockerfile=$dockerfile"
		} >"$(image_file "$tag")"
	done
}

print_image_json() {
	local file=$1 reference=$2
	cat <<JSON
    {
        "Id": "$(image_field "$file" Id)",
        "RepoTags": [
            "$reference"
        ],
        "Created": "$(image_field "$file" Created)",
        "Config": {
            "User": "$(image_field "$file" User)",
            "WorkingDir": "$(image_field "$file" WorkingDir)",
            "Cmd": [
                "/bin/bash"
            ]
        },
        "Architecture": "$(go_arch)",
        "Os": "linux"
    }
JSON
}

cmd_image_inspect() {
	local format="" names=()
	while [ $# -gt 0 ]; do
		case "$1" in
		-f | --format) format=${2-}; shift 2 || fixture_error "$1 needs a value" ;;
		--format=*) format=${1#--format=}; shift ;;
		-*) echo "unknown flag: $1" >&2; exit 1 ;;
		*) names+=("$1"); shift ;;
		esac
	done
	if [ ${#names[@]} -eq 0 ]; then
		echo "\"docker image inspect\" requires at least 1 argument." >&2
		exit 1
	fi
	if ! engine_up; then
		echo "$DAEMON_DOWN" >&2
		exit 1
	fi

	local name file status=0 found=() missing=()
	for name in "${names[@]}"; do
		file=$(image_file "$name")
		if [ -f "$file" ]; then found+=("$name"); else missing+=("$name"); status=1; fi
	done

	if [ -n "$format" ]; then
		for name in "${found[@]}"; do
			file=$(image_file "$name")
			case "$format" in
			'{{.Id}}') image_field "$file" Id ;;
			'{{.Created}}') image_field "$file" Created ;;
			*) fixture_error "image inspect --format supports only {{.Id}} and {{.Created}}" ;;
			esac
		done
	else
		echo "["
		local index
		for index in "${!found[@]}"; do
			[ "$index" -eq 0 ] || echo "    ,"
			print_image_json "$(image_file "${found[$index]}")" "$(image_reference "${found[$index]}")"
		done
		echo "]"
	fi
	for name in "${missing[@]}"; do
		echo "Error: No such image: $name" >&2
	done
	exit $status
}

cmd_rmi() {
	local force=false name file status=0
	while [ $# -gt 0 ]; do
		case "$1" in
		-f | --force) force=true; shift ;;
		-*) echo "unknown flag: $1" >&2; exit 1 ;;
		*) break ;;
		esac
	done
	if ! engine_up; then
		echo "$DAEMON_DOWN" >&2
		exit 1
	fi
	for name in "$@"; do
		file=$(image_file "$name")
		if [ -f "$file" ]; then
			echo "Untagged: $(image_reference "$name")"
			echo "Deleted: $(image_field "$file" Id)"
			rm -f "$file"
		elif [ "$force" = false ]; then
			echo "Error response from daemon: No such image: $(image_reference "$name")" >&2
			status=1
		fi
	done
	exit $status
}

run_error() {
	echo "docker: Error response from daemon: $*" >&2
	echo "See 'docker run --help'." >&2
	exit 125
}

# Checks one -v value; prints the host path when it is a usable bind mount.
check_volume() {
	local spec=$1 source target type=bind
	IFS=: read -r source target _ <<<"$spec"

	if [ -z "$target" ]; then
		fixture_error "volume $spec has no target; only <path>:<path> bind mounts are modelled"
	fi
	case "$source" in
	/*) ;;
	.*) source="$(pwd)/$source" ;;
	*)
		if [[ "$source" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]]; then
			type=volume
		else
			run_error "create $source: \"$source\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path."
		fi
		;;
	esac

	case "$target" in
	/*) ;;
	*) run_error "invalid volume specification: '$spec': invalid mount config for type \"$type\": invalid mount path: '$target' mount path must be absolute." ;;
	esac
	if [ "$type" = volume ]; then
		fixture_error "named volume $source is not modelled; mount an absolute host path"
	fi

	source=$(realpath -m "$source")
	if [ ! -e "$source" ]; then
		fixture_error "bind source $source does not exist (the real engine would create it, owned by root)"
	fi
	if [ "$source" != "$(realpath -m "$target")" ]; then
		fixture_error "mount $spec maps to another path; commands run on the host, so only <path>:<path> mounts are modelled"
	fi
	echo "$source"
}

cmd_run() {
	local tty=false interactive=false workdir="" user="" image="" mounts=() envs=()
	local option
	while [ $# -gt 0 ]; do
		case "$1" in
		--rm | --init) shift ;;
		-t | --tty) tty=true; shift ;;
		-i | --interactive) interactive=true; shift ;;
		-it | -ti) tty=true; interactive=true; shift ;;
		--network | --net | --name | --hostname) shift 2 || fixture_error "$1 needs a value" ;;
		--network=* | --net=* | --name=* | --hostname=*) shift ;;
		-u | --user) user=${2-}; shift 2 || fixture_error "$1 needs a value" ;;
		--user=*) user=${1#--user=}; shift ;;
		-v | --volume) mounts+=("${2-}"); shift 2 || fixture_error "$1 needs a value" ;;
		--volume=*) mounts+=("${1#--volume=}"); shift ;;
		-w | --workdir) workdir=${2-}; shift 2 || fixture_error "$1 needs a value" ;;
		--workdir=*) workdir=${1#--workdir=}; shift ;;
		-e | --env) envs+=("${2-}"); shift 2 || fixture_error "$1 needs a value" ;;
		--env=*) envs+=("${1#--env=}"); shift ;;
		-d | --detach) fixture_error "detached containers are not modelled" ;;
		-*) echo "unknown flag: $1" >&2; echo "See 'docker run --help'." >&2; exit 125 ;;
		*) image=$1; shift; break ;;
		esac
	done
	if [ -z "$image" ]; then
		echo "\"docker run\" requires at least 1 argument." >&2
		echo "See 'docker run --help'." >&2
		exit 125
	fi

	if [ "$tty" = true ] && [ "$interactive" = true ] && [ ! -t 0 ]; then
		echo "the input device is not a TTY" >&2
		exit 1
	fi
	if ! engine_up; then
		echo "docker: $DAEMON_DOWN." >&2
		echo "See 'docker run --help'." >&2
		exit 125
	fi
	local file
	file=$(image_file "$image")
	if [ ! -f "$file" ]; then
		echo "Unable to find image '$(image_reference "$image")' locally" >&2
		run_error "pull access denied for ${image%%:*}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
	fi
	# NOTE: --user is checked, not applied: the command runs as the calling user.
	if [ -n "$user" ] && ! [[ "$user" =~ ^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$ ]]; then
		run_error "invalid user: $user"
	fi

	local mounted=() spec source
	for spec in "${mounts[@]}"; do
		source=$(check_volume "$spec") || exit $?
		mounted+=("$source")
	done

	if [ -z "$workdir" ]; then
		workdir=$HOME
	else
		case "$workdir" in
		/*) ;;
		*) run_error "the working directory '$workdir' is invalid, it needs to be an absolute path" ;;
		esac
		local inside=false
		for source in "${mounted[@]}"; do
			case "$(realpath -m "$workdir")/" in "$source"/*) inside=true ;; esac
		done
		if [ "$inside" = false ]; then
			fixture_error "working directory $workdir is not under a -v mount; in a real container it would be an empty folder"
		fi
		[ -d "$workdir" ] || fixture_error "working directory $workdir does not exist"
	fi

	# The container's environment: the image's, the --env values, and the fixture's knobs.
	local environment=(
		"PATH=$FIXTURE_ROOT/bin:$IMAGE_PATH"
		"HOME=$HOME"
		"HOSTNAME=aemfvp-builder"
		"TC_PATH=/opt/toolchains"
		"DEBIAN_FRONTEND=noninteractive"
	)
	[ "$tty" = true ] && environment+=("TERM=xterm")
	local variable
	for variable in "${envs[@]}"; do
		case "$variable" in
		*=*) environment+=("$variable") ;;
		*) [ -n "${!variable+set}" ] && environment+=("$variable=${!variable}") ;;
		esac
	done
	while IFS= read -r variable; do
		environment+=("$variable=${!variable}")
	done < <(compgen -e | grep '^CCA_FIXTURE_' || true)

	[ $# -gt 0 ] || set -- /bin/bash
	cd "$workdir" || exit 125
	if ! PATH="$FIXTURE_ROOT/bin:$IMAGE_PATH" command -v "$1" >/dev/null 2>&1; then
		echo "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"$1\": executable file not found in \$PATH: unknown." >&2
		exit 127
	fi
	exec env -i "${environment[@]}" "$@"
}

if [ $# -eq 0 ]; then
	echo "Usage:  docker [OPTIONS] COMMAND"
	exit 0
fi

command=$1
shift
case "$command" in
--version | -v) echo "Docker version $CLIENT_VERSION, build afdd53b (fixture stand-in)" ;;
version) cmd_version "$@" ;;
info) cmd_info "$@" ;;
build) cmd_build "$@" ;;
buildx)
	[ "${1-}" = build ] || fixture_error "only 'buildx build' is modelled"
	shift
	cmd_build "$@"
	;;
image)
	subcommand=${1-}
	shift || true
	case "$subcommand" in
	inspect) cmd_image_inspect "$@" ;;
	rm) cmd_rmi "$@" ;;
	*) fixture_error "'image $subcommand' is not modelled" ;;
	esac
	;;
inspect) cmd_image_inspect "$@" ;;
rmi) cmd_rmi "$@" ;;
run) cmd_run "$@" ;;
*)
	echo "docker: '$command' is not a docker command." >&2
	echo "See 'docker --help'" >&2
	exit 1
	;;
esac
