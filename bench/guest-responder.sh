#!/bin/sh
# Guest side of the 9p benchmarks (bench/protocol-overhead.mjs), run with busybox sh inside the
# QEMU board on its 9p share. It answers as fast as the guest can, without inference:
#
#   guest-responder.sh pong DIR    the share's own round trip: when DIR/ping holds a query
#                                  for a new file name, write that name to DIR/pong
#   guest-responder.sh realm DIR   the realm's side of the shared-folder protocol: when
#                                  DIR/signalling.txt holds a query, check that the image
#                                  exists, print the realm's lines for it with one fixed result
#                                  to DIR/output.txt, and write `systemState: processed`
#
# Both modes poll their file in the same way, so that the difference between them is what the
# protocol adds. busybox's `read` takes one byte per system call, which is a 9p round trip each,
# so a poll reads the state line and reads the file name only for a query. The image's bytes
# are not read, though a realm would read them. Both modes stop when DIR/stop exists.
set -u
mode=$1
dir=$2
cd "$dir" || exit 1
polls=0

# Sets `state` and `image` from a file in the signalling file's format; both stay empty while
# the file does not exist.
read_query() {
  state=
  image=
  {
    IFS= read -r line || return 0
    state=${line#systemState: }
    if [ "$state" = query ]; then
      IFS= read -r line || return 0
      image=${line#fileName: }
    fi
  } 2>/dev/null <"$1"
}

# Returns 0 when DIR/stop exists; checked every 16th poll, since each check is a 9p round trip.
should_stop() {
  polls=$((polls + 1))
  [ $((polls % 16)) -eq 0 ] && [ -e stop ]
}

pong() {
  last=
  while ! should_stop; do
    read_query ping
    if [ "$state" = query ] && [ -n "$image" ] && [ "$image" != "$last" ]; then
      echo "fileName: $image" >pong
      last=$image
    fi
  done
}

realm() {
  while ! should_stop; do
    read_query signalling.txt
    [ "$state" = query ] && [ -n "$image" ] || continue
    if [ ! -r "$image" ]; then
      echo "FATAL: input file $image not found" >>output.txt
      return 1
    fi
    printf "System state is 'query'. Filename: %s\nINFO: settings->input_bmp_name: %s\nINFO: 1: 0 0:background\n" \
      "$image" "$image" >>output.txt
    echo 'systemState: processed' >signalling.txt
  done
}

case "$mode" in
  pong) pong ;;
  realm) realm ;;
  *)
    echo "usage: $0 pong|realm DIR" >&2
    exit 2
    ;;
esac
