#!/bin/sh
# Sends images to the realm's inference service through the shared folder, from the normal
# world's console, and prints each image's result lines from output.txt.
#
# For each image it:
# - waits until signalling.txt is no longer `query`, the only state the realm acts on;
# - copies the image into the shared folder under a temporary name, then renames it;
# - writes `systemState: query` and `fileName: PATH` to a temporary file and renames that onto
#   signalling.txt, so the realm never reads the state without the file name;
# - waits for the realm's `processed`, prints the lines it printed for the image, and removes
#   the copy.
# After the last image the state is `finished`.
#
# Output per image: a line `IMAGE:`, then the result lines as output.txt has them
# (`INFO: CONFIDENCE: INDEX LABEL`). Exit status 0 when every image has a result, 1 when the
# realm timed out or failed (the images after it are not sent), 2 for invalid arguments.
#
# Written for busybox ash, the normal world's /bin/sh in buildroot, and POSIX sh.

program=cca-signal
share_dir=/root/shared_with_realm
realm_dir=
poll_seconds=1
timeout_seconds=120

usage() {
  cat <<EOF
Usage: ${0##*/} [-d DIR] [-r REALM_DIR] [-p SECONDS] [-t SECONDS] IMAGE...

Classifies 24-bit BMP images in the realm, one at a time, through the shared folder.

  -d DIR        the shared folder in the normal world (default: /root/shared_with_realm)
  -r REALM_DIR  the same folder's path in the realm, for the paths written into
                signalling.txt (default: the same path as -d)
  -p SECONDS    polling interval of signalling.txt (default: 1; fractions where sleep
                takes them)
  -t SECONDS    how long the realm may take for one image (default: 120)
  -h            print this help

The realm's inference service must run on the same folder (realm/cca-inference-service.sh).
EOF
}

fail() {
  printf '%s: error: %s\n' "$program" "$*" >&2
  exit 1
}

invalid() {
  printf '%s: error: %s (see -h)\n' "$program" "$*" >&2
  exit 2
}

now() { date +%s; }

# Sleeps for the polling interval, or 1 s where sleep takes no fractions.
pause() { sleep "$poll_seconds" 2>/dev/null || sleep 1; }

# Prints the value of the `systemState:` line of signalling.txt; empty when there is none.
read_state() {
  sed -n 's/^systemState: //p' "$signalling" 2>/dev/null | head -n 1
}

read_file_name() {
  sed -n 's/^fileName: //p' "$signalling" 2>/dev/null | head -n 1
}

# Replaces signalling.txt through a temporary file and a rename, so no reader sees half of it.
write_signalling() {
  temporary=$share_dir/.signalling.txt.$$
  if ! printf 'systemState: %s\nfileName: %s\n' "$1" "$2" >"$temporary" ||
    ! mv -f "$temporary" "$signalling"; then
    fail "writing $signalling failed"
  fi
}

output_size() {
  size=$(wc -c <"$output" 2>/dev/null) || size=0
  echo $((size + 0))
}

# Prints what the realm appended to output.txt since byte `offset` (all of a file recreated
# since, as a restarted service truncates it).
output_since() {
  if [ "$(output_size)" -lt "$offset" ]; then offset=0; fi
  tail -c +$((offset + 1)) "$output" 2>/dev/null
}

# Prints the result lines that follow the realm's input line for the path $1, up to the next
# image. Fails when the realm printed no input line for that path.
result_lines() {
  output_since | RESULT_PATH=$1 awk '
    $0 == "INFO: settings->input_bmp_name: " ENVIRON["RESULT_PATH"] { found = 1; next }
    found && /^INFO: settings->input_bmp_name: / { exit }
    found && /^INFO: [0-9][0-9.eE+-]*: [0-9]+( |$)/ { print }
    END { exit !found }'
}

while getopts ':d:r:p:t:h' option; do
  case "$option" in
    d) share_dir=$OPTARG ;;
    r) realm_dir=$OPTARG ;;
    p) poll_seconds=$OPTARG ;;
    t) timeout_seconds=$OPTARG ;;
    h)
      usage
      exit 0
      ;;
    :) invalid "option -$OPTARG needs a value" ;;
    *) invalid "unknown option -$OPTARG" ;;
  esac
done
shift $((OPTIND - 1))

[ "$#" -gt 0 ] || invalid 'no image given'
case "$poll_seconds" in
  '' | *[!0-9.]* | *.*.* | .) invalid "-p must be a number of seconds, not '$poll_seconds'" ;;
esac
case "$timeout_seconds" in
  '' | *[!0-9]*) invalid "-t must be a whole number of seconds, not '$timeout_seconds'" ;;
esac
share_dir=${share_dir%/}
realm_dir=${realm_dir:-$share_dir}
realm_dir=${realm_dir%/}
case "$realm_dir" in
  /*) ;;
  *)
    invalid "the shared folder's path in the realm must be absolute, not '$realm_dir';" \
      'give it with -r'
    ;;
esac
if [ ! -d "$share_dir" ] || [ ! -w "$share_dir" ]; then
  invalid "the shared folder $share_dir is not a writable folder"
fi
for image in "$@"; do
  if [ ! -f "$image" ] || [ ! -r "$image" ]; then invalid "image $image not found"; fi
done
signalling=$share_dir/signalling.txt
output=$share_dir/output.txt

[ -e "$signalling" ] || write_signalling processed ''
sequence=0
for image in "$@"; do
  sequence=$((sequence + 1))

  # The realm reads only `query`; any other state means it is idle.
  deadline=$(($(now) + timeout_seconds))
  while [ "$(read_state)" = query ]; do
    [ "$(now)" -lt "$deadline" ] ||
      fail "timed out after $timeout_seconds s waiting for the realm to finish the query for" \
        "$(read_file_name) before sending $image; check that the inference service runs"
    pause
  done

  # A name no other file has: the script's PID, the position, the image's name.
  base=$(basename "$image" | tr -c 'A-Za-z0-9._\n-' '_')
  name=cca-signal-$$-$sequence-$base
  copy=$share_dir/$name
  if ! cp "$image" "$share_dir/.$name.tmp" || ! mv -f "$share_dir/.$name.tmp" "$copy"; then
    fail "copying $image into $share_dir failed"
  fi

  realm_path=$realm_dir/$name
  offset=$(output_size)
  write_signalling query "$realm_path"

  deadline=$(($(now) + timeout_seconds))
  while [ "$(read_state)" = query ]; do
    fatal=$(output_since | grep '^FATAL:' | head -n 1)
    [ -z "$fatal" ] || fail "the realm stopped at $image: $fatal"
    if [ "$(now)" -ge "$deadline" ]; then
      # Withdraw the query if signalling.txt still contains it. The copy stays, because a realm
      # that has read the query already and is slow would stop with FATAL without the file.
      [ "$(read_file_name)" = "$realm_path" ] && write_signalling finished ''
      fail "timed out after $timeout_seconds s waiting for the realm's result for $image;" \
        "check that the inference service runs (the copy $copy stays in the shared folder)"
    fi
    pause
  done

  if ! lines=$(result_lines "$realm_path"); then
    fail "the realm ended the query for $image but printed no result for it in $output"
  fi
  printf '%s:\n' "$image"
  [ -z "$lines" ] || printf '%s\n' "$lines"
  rm -f "$copy"
done
write_signalling finished ''
