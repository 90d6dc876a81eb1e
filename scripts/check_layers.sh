#!/usr/bin/env bash
# Fails if a source folder includes a folder it must not see. The layering is
# one-way (docs/ARCHITECTURE.md, "Dependencies"):
#   protocol <- runtime <- channel, redis, worker <- master
# protocol/ sees only itself; runtime/ sees protocol/; channel/, redis/ and
# worker/ see runtime/ and protocol/ but not each other (two bus engines and
# the services: a service reaches the bus only through runtime/bus.h); master/ sees everything.
set -u
cd "$(dirname "$0")/.."
declare -A allowed=(
  [protocol]="protocol"
  [runtime]="runtime protocol"
  [channel]="channel runtime protocol"
  [redis]="redis runtime protocol"
  [worker]="worker runtime protocol"
  [master]="master worker channel redis runtime protocol"
)
bad=0
for folder in "${!allowed[@]}"; do
  while IFS=: read -r file line inc; do
    target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^/"]+)\/.*$/\1/' <<<"$inc")
    case " ${allowed[$folder]} " in
      *" $target "*) ;;
      *) echo "layering: $file:$line includes $target/ ($folder/ may see: ${allowed[$folder]})"; bad=1 ;;
    esac
  done < <(grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^/"]+/' "$folder"/*.cpp "$folder"/*.h 2>/dev/null)
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "layering: one-way (protocol <- runtime <- channel, redis, worker <- master)"
