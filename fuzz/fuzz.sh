#!/usr/bin/env bash
# Fuzzes one target with AFL++ through SharpFuzz, for a while, and keeps what it finds.
#
#   fuzz/fuzz.sh <frames|config|pem|protocol> [seconds=600]
#
# Installs afl++ (Debian package) and the sharpfuzz tool (the repository's tool manifest) when missing,
# publishes the fuzz project into fuzz/out/<target>/bin, instruments Broker.Transport.dll there, and runs
# afl-fuzz on the seed corpus (fuzz/Broker.Transport.Fuzz/corpus/<target>). Every crash and hang AFL++
# saved is copied into fuzz/Broker.Transport.Fuzz/findings/<target>/, named by its SHA-256: commit them, and
# the replay tests (tests/Broker.Transport.Tests/Fuzzing) run them in CI from then on. The last lines are
# AFL++'s own statistics (execs_done, corpus_count, saved_crashes, saved_hangs). The inputs AFL++ kept for
# new coverage are added to the corpus too.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/fuzz.sh <frames|config|pem|protocol> [seconds]}
seconds=${2:-600}
project=fuzz/Broker.Transport.Fuzz
seeds=$project/corpus/$target
[ -d "$seeds" ] || { echo "no seed corpus at $seeds" >&2; exit 2; }

if ! command -v afl-fuzz >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null

out=fuzz/out/$target
rm -rf "$out"
mkdir -p "$out"
dotnet publish "$project" -c Release -o "$out/bin" >"$out/publish.log" 2>&1 || { cat "$out/publish.log"; exit 1; }
# Only the code under test is instrumented: its branches are what AFL++ should explore. The protocol target
# is the two-tier broker sample's codec, in TwoTierBroker.dll.
if [ "$target" = protocol ]; then
  dotnet sharpfuzz "$out/bin/TwoTierBroker.dll" >/dev/null
else
  dotnet sharpfuzz "$out/bin/Broker.Transport.dll" >/dev/null
fi

# Not a tuned machine: no CPU governor or core-pattern changes; the fuzz process is .NET, so no memory limit.
# AFL_SKIP_BIN_CHECK: the binary AFL++ starts is `dotnet`; the instrumentation is in the library it loads.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_BIN_CHECK=1
# A target's dictionary (the tokens of its format) helps AFL++ past the first syntax checks.
dictionary=()
if [ -f "$project/dictionaries/$target.dict" ]; then
  dictionary=(-x "$project/dictionaries/$target.dict")
fi
afl-fuzz -i "$seeds" -o "$out/findings" -t 5000 -m none -V "$seconds" "${dictionary[@]}" -- \
  dotnet "$out/bin/Broker.Transport.Fuzz.dll" "$target" >"$out/afl.log" 2>&1 || { tail -40 "$out/afl.log"; exit 1; }

kept=$project/findings/$target
mkdir -p "$kept"
found=0
for file in "$out"/findings/default/crashes/id:* "$out"/findings/default/hangs/id:*; do
  [ -f "$file" ] || continue
  cp "$file" "$kept/$(sha256sum "$file" | cut -c1-16)"
  found=$((found + 1))
done
# The inputs AFL++ kept for new coverage join the corpus (named by hash, so a rerun adds only new ones): the
# next run starts from them, and CI replays them.
added=0
for file in "$out"/findings/default/queue/id:*; do
  [ -f "$file" ] || continue
  name=$seeds/afl-$(sha256sum "$file" | cut -c1-16)
  [ -f "$name" ] || { cp "$file" "$name"; added=$((added + 1)); }
done
echo "$added new corpus input(s) added to $seeds"
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg)' "$out/findings/default/fuzzer_stats"
echo "$found finding(s) copied to $kept"
