#!/bin/sh
# Starts the realm's inference service: mounts the 9p shared folder, checks the model and the
# labels, and starts `realm_inference -l LABELS -m MODEL -S SHARE/signalling.txt -N COUNT -x 1`
# in the background with its stdout and stderr in SHARE/output.txt. A realm_inference that
# already runs with the same arguments is kept. One with other arguments (a new -N, model,
# labels or share) is stopped first, because the binary serves a fixed number of images and
# then exits.
#
# The last line printed is the status, for people and for tools that type this command into
# the realm's console:
#   cca-inference-service: started pid PID with -N COUNT
#   cca-inference-service: already running pid PID with -N COUNT (...); not restarted
#   cca-inference-service: error: WHAT FAILED        (exit status 1, or 2 for invalid options)
#
# Written for busybox ash, the realm's /bin/sh in buildroot, and POSIX sh.

program=cca-inference-service
script_dir=$(cd "$(dirname "$0")" && pwd)
script_dir=${script_dir%/}

model=$script_dir/mobilenet_v1_1.0_224.tflite
labels=$script_dir/labels.txt
image_count=
share_dir=/root/shared_with_realm
tag='sh'
binary=
start_timeout=60

usage() {
  cat <<EOF
Usage: ${0##*/} -n COUNT [-m MODEL] [-l LABELS] [-d DIR] [-t TAG] [-b BINARY] [-w SECONDS]

Mounts the 9p shared folder and starts realm_inference on it for COUNT images.

  -n COUNT    number of images the service classifies before it exits (realm_inference -N)
  -m MODEL    the .tflite model (default: $script_dir/mobilenet_v1_1.0_224.tflite)
  -l LABELS   the labels file, one line per class (default: $script_dir/labels.txt)
  -d DIR      mount point of the shared folder (default: /root/shared_with_realm)
  -t TAG      9p tag of the shared folder, as in lkvm run --9p FOLDER,TAG (default: sh)
  -b BINARY   the realm_inference binary (default: realm_inference on PATH, else
              $script_dir/realm_inference)
  -w SECONDS  how long to wait for the service to reach its polling loop (default: 60)
  -h          print this help

A running realm_inference with the same arguments is kept; one with other arguments is
stopped and started again. The last line is the status: "$program: started pid PID ...",
"$program: already running pid PID ..." or "$program: error: ...".
EOF
}

say() { printf '%s: %s\n' "$program" "$*"; }

fail() {
  printf '%s: error: %s\n' "$program" "$*" >&2
  exit 1
}

invalid() {
  printf '%s: error: %s (see -h)\n' "$program" "$*" >&2
  exit 2
}

# Sleeps a fifth of a second where sleep takes fractions (busybox with float support), else 1 s.
nap() { sleep 0.2 2>/dev/null || sleep 1; }

now() { date +%s; }

absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "${PWD%/}" "$1" ;;
  esac
}

# Returns whether a process exists and has not exited (a zombie has exited).
is_alive() {
  [ -r "/proc/$1/stat" ] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  case "${rest%% *}" in
    Z | X | '') return 1 ;;
  esac
  return 0
}

# Lists the PIDs of live processes named like the binary (the kernel keeps 15 characters).
running_pids() {
  name=$(printf '%s' "${binary##*/}" | cut -c1-15)
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = "$$" ] && continue
    [ "$(cat "$dir/comm" 2>/dev/null)" = "$name" ] || continue
    is_alive "$pid" && echo "$pid"
  done
}

# Prints the arguments of a running binary, one per line, from its command line. A script (such
# as a test double) runs as `sh SCRIPT ARGS`, so the arguments start after the element whose
# base name is the binary's.
process_arguments() {
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | BINARY_NAME=${binary##*/} awk '
    found { print; next }
    { name = $0; sub(/.*\//, "", name); if (name == ENVIRON["BINARY_NAME"]) found = 1 }'
}

# Prints the value of -N in an argument list given one per line.
count_argument() {
  printf '%s\n' "$1" | awk 'previous == "-N" { print; exit } { previous = $0 }'
}

stop_process() {
  kill "$1" 2>/dev/null
  deadline=$(($(now) + 5))
  while is_alive "$1"; do
    if [ "$(now)" -ge "$deadline" ]; then
      kill -9 "$1" 2>/dev/null
      nap
      is_alive "$1" && return 1
      return 0
    fi
    nap
  done
  return 0
}

# NOTE: /proc/mounts writes a space in a path as \040, so a mount point with spaces never
# matches and is mounted again.
is_9p_mount() {
  MOUNT_POINT=$1 awk '$2 == ENVIRON["MOUNT_POINT"] && $3 == "9p" { found = 1 }
    END { exit !found }' /proc/mounts
}

while getopts ':n:m:l:d:t:b:w:h' option; do
  case "$option" in
    n) image_count=$OPTARG ;;
    m) model=$OPTARG ;;
    l) labels=$OPTARG ;;
    d) share_dir=$OPTARG ;;
    t) tag=$OPTARG ;;
    b) binary=$OPTARG ;;
    w) start_timeout=$OPTARG ;;
    h)
      usage
      exit 0
      ;;
    :) invalid "option -$OPTARG needs a value" ;;
    *) invalid "unknown option -$OPTARG" ;;
  esac
done
shift $((OPTIND - 1))
[ "$#" -eq 0 ] || invalid "unexpected argument '$1'"

# Options.
case "$image_count" in
  '') invalid 'missing -n COUNT, the number of images to classify' ;;
  *[!0-9]*) invalid "-n must be a whole number of at least 1, not '$image_count'" ;;
esac
[ "$image_count" -ge 1 ] || invalid "-n must be a whole number of at least 1, not '$image_count'"
case "$start_timeout" in
  '' | *[!0-9]*) invalid "-w must be a whole number of seconds, not '$start_timeout'" ;;
esac
case "$tag" in
  '' | *[!A-Za-z0-9_.-]*)
    invalid "-t must be a 9p tag of letters, digits, '_', '.' or '-', not '$tag'"
    ;;
esac
model=$(absolute "$model")
labels=$(absolute "$labels")
share_dir=$(absolute "$share_dir")
share_dir=${share_dir%/}
[ -n "$share_dir" ] || invalid '-d must not be the root folder'
signalling=$share_dir/signalling.txt
output=$share_dir/output.txt

# The shared folder; the model and labels may be in it.
if is_9p_mount "$share_dir"; then
  say "9p share already mounted at $share_dir"
else
  mkdir -p "$share_dir" || fail "creating the mount point $share_dir failed"
  if ! message=$(mount -t 9p -o trans=virtio "$tag" "$share_dir" 2>&1); then
    fail "mounting 9p tag '$tag' on $share_dir failed: ${message:-no message}." \
      "Start the realm with lkvm run --9p FOLDER,$tag and a kernel with 9p support"
  fi
  say "mounted 9p tag '$tag' at $share_dir"
fi

# The binary, the model and the labels.
if [ -z "$binary" ]; then
  binary=$(command -v realm_inference) || binary=$script_dir/realm_inference
fi
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
  fail "realm_inference not found: $binary is not an executable file; give its path with -b"
fi
if [ ! -f "$model" ] || [ ! -r "$model" ]; then
  fail "model $model not found; give its path with -m"
fi
# A TensorFlow Lite flatbuffer has the file identifier TFL3 at byte offset 4.
identifier=$(dd if="$model" bs=1 skip=4 count=4 2>/dev/null)
[ "$identifier" = TFL3 ] ||
  fail "model $model is not a TensorFlow Lite model: no TFL3 identifier at byte offset 4"
if [ ! -f "$labels" ] || [ ! -r "$labels" ]; then
  fail "labels file $labels not found; give its path with -l"
fi
[ -s "$labels" ] || fail "labels file $labels is empty"

# A running service: keep it when its arguments are the ones requested, else stop it.
wanted=$(printf '%s\n' -l "$labels" -m "$model" -S "$signalling" -N "$image_count" -x 1)
kept=
for pid in $(running_pids); do
  arguments=$(process_arguments "$pid")
  if [ -z "$kept" ] && [ "$arguments" = "$wanted" ]; then
    kept=$pid
    continue
  fi
  running_count=$(count_argument "$arguments")
  if [ "$running_count" = "$image_count" ]; then
    say "stopping realm_inference pid $pid: it runs with another model, labels or share"
  else
    say "stopping realm_inference pid $pid: it runs with -N ${running_count:-unknown}," \
      "not -N $image_count"
  fi
  stop_process "$pid" || fail "realm_inference pid $pid did not stop after SIGTERM and SIGKILL"
done
if [ -n "$kept" ]; then
  done_count=$(grep -c 'settings->input_bmp_name:' "$output" 2>/dev/null)
  say "already running pid $kept with -N $image_count" \
    "(${done_count:-0} of $image_count images done, per $output); not restarted"
  exit 0
fi

# Start. The service must outlive the console's login shell, so it ignores SIGHUP.
: 2>/dev/null >"$output" || fail "writing $output failed; check that the share is writable"
trap '' HUP
"$binary" -l "$labels" -m "$model" -S "$signalling" -N "$image_count" -x 1 >"$output" 2>&1 &
pid=$!

# The binary prints its loop line once the model has loaded, then polls signalling.txt.
deadline=$(($(now) + start_timeout))
while ! grep -qE 'checkSystemStateAndGetFilename|^Waiting for ' "$output" 2>/dev/null; do
  if ! is_alive "$pid"; then
    wait "$pid"
    status=$?
    reason=$(grep -E '^(FATAL|ERROR)' "$output" 2>/dev/null | tail -n 1)
    [ -n "$reason" ] || reason=$(tail -n 1 "$output" 2>/dev/null)
    fail "realm_inference exited with status $status: ${reason:-no output}"
  fi
  if [ "$(now)" -ge "$deadline" ]; then
    say "started pid $pid with -N $image_count; it has not reached its polling loop" \
      "after $start_timeout s (see $output)"
    exit 0
  fi
  nap
done
say "started pid $pid with -N $image_count"
