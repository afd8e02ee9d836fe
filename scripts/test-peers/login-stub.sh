#!/bin/sh
# Program that the test telnet servers run for each connection in place of login(1). It prints
# a banner and a login prompt, then echoes each line it reads until `exit` or end of input. It
# reads no password and no account of the host.
printf 'CCA Realm Studio telnet test peer\n'
printf 'login: '
IFS= read -r name || exit 0
printf 'user: %s\n' "$name"
while printf '$ ' && IFS= read -r line; do
  [ "$line" = exit ] && break
  printf 'echo: %s\n' "$line"
done
