#!/usr/bin/env bash
# gpu-check.sh — the opencl backend on a machine lent a GPU, in one prepared command.
#
# That machine has no Maven, no internet and perhaps no Java, so everything it needs is built here
# and carried (the device tool copies the working tree plus at most 8 ignored paths, 64 MiB in all).
#
# 1. Here, from the repository root, with JDK 25 and Maven (offline):
#        export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
#        native/opencl/gpu-check.sh prepare
#    builds the module and its tests and fills native/opencl/target/gpu-check/ (ignored by git):
#        lib/           the test class path's jars (mvn dependency:copy-dependencies)
#        classes/ test-classes/   this module, compiled
#        jdk.tar.gz     a jlink'd, stripped Java 25 runtime (~25 MiB; kept across prepares, made
#                       again with REBUILD_JDK=1), used when the machine's java is missing or older
#                       than 25 (gzip: xz may be missing there)
#        icd/           Debian's OpenCL ICD loader (ocl-icd, from this machine), used when the
#                       machine has no libOpenCL.so
#    About 33 MiB; with the working tree (~6 MiB) about 39 MiB travel.
#
# 2. There, through the device tool, from the repository root (one call; expected ~5 min on a GPU,
#    not yet run on one; a session has 15 min of device time, machine start included, so if a step
#    overruns, rerun only what is missing, e.g. STEPS=bench, or SUITES=dev.jrnn.opencl.XTest):
#        run(command="bash native/opencl/gpu-check.sh run",
#            carry=["native/opencl/target/gpu-check"], timeout_s=540)
#    It finds an OpenCL loader and NVIDIA's ICD (libnvidia-opencl.so.1; writing an .icd file when
#    /etc/OpenCL/vendors has none), then writes to $OUT:
#        log.txt        environment, loader and ICD found, java used, each step's exit status
#        devices.txt    every OpenCL platform and device
#        tests.txt      the module's test classes against the device (-Djrnn.opencl.device, CI=true:
#                       a missing device fails), a line per class, failures at the end
#        bench.md       the device's FP32 peak (a kernel of its own); W1–W5 and L (LSTM N=256 T=64
#                       I=H=1024) on opencl and java: launches, ms, GFLOP/s, % of peak, diff vs java
#        persistent.md  N=1 T=128 I=H=256, LSTM, GRU (both variants), RNN: per-step vs persistent
#                       with R read as it is and transposed (-Djrnn.opencl.persistentLayout)
#    Each step has its own time limit and writes its file as it goes, so the files come back even
#    when one overruns.
#
# 3. Dry run here on PoCL (the CPU device), end to end, in two commands of under 10 minutes (on 2
#    cores PoCL needs minutes per run of L, so L gets a command of its own; on 2 loaded cores the
#    first took 8 min, 6.6 of them the tests, the second 2.6 min):
#        OUT=/tmp/gpu-check DEVICE=cpu BENCH_SECONDS=1 MIN_RUNS=1 TEST_TIMEOUT=400 \
#          ONLY=W1,W2,W3,W4,W5 native/opencl/gpu-check.sh run
#        OUT=/tmp/gpu-check-l DEVICE=cpu MIN_RUNS=1 STEPS=bench ONLY=L BENCH_TIMEOUT=560 \
#          native/opencl/gpu-check.sh run
#
# Knobs (environment): DEVICE (gpu; any -Djrnn.opencl.device selector), STEPS (devices tests bench
# persistent), SUITES (space-separated test class names; default all), ONLY (workloads, e.g. W1,L;
# default W1-W5 and L), BENCH_SECONDS (3 per row), MIN_RUNS (3 per row), THREADS (java's, default
# all processors), TEST_TIMEOUT (240 s), BENCH_TIMEOUT (150 s), PERSISTENT_TIMEOUT (60 s): at most
# 8 min in all, so timeout_s=540 leaves the files a margin to come back.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
W="$here/target/gpu-check"
cmd=${1:-run}

prepare() {
  set -e
  : "${JAVA_HOME:?set JAVA_HOME to a JDK 25}"
  local root
  root=$(cd "$here/../.." && pwd)
  cd "$root"
  mvn -o -B -ntp -q -pl native/opencl -am install -DskipTests
  mvn -o -B -ntp -q -pl native/opencl test-compile
  find "$W" -mindepth 1 -maxdepth 1 ! -name jdk.tar.gz -exec rm -rf {} + 2>/dev/null || true
  mkdir -p "$W/icd"
  mvn -o -B -ntp -q -pl native/opencl dependency:copy-dependencies -DincludeScope=test \
    -DoutputDirectory="$W/lib"
  cp -r "$here/target/classes" "$W/classes"
  cp -r "$here/target/test-classes" "$W/test-classes"
  if [ ! -f "$W/jdk.tar.gz" ] || [ -n "${REBUILD_JDK:-}" ]; then
    local mods
    mods=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 -q \
      --class-path "$W/lib/*" "$W"/lib/*.jar "$W/classes" "$W/test-classes")
    rm -rf "$W/jdk"
    "$JAVA_HOME/bin/jlink" --add-modules "$mods,java.logging,jdk.incubator.vector" \
      --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$W/jdk" 2>&1 |
      grep -v 'incubator modules' || true
    strip --strip-unneeded "$W/jdk/lib/server/libjvm.so"
    tar -C "$W" -czf "$W/jdk.tar.gz" jdk
    rm -rf "$W/jdk"
  fi
  local loader
  loader=$(ldconfig -p | awk '/libOpenCL\.so\.1 .*x86-64/ {print $NF; exit}')
  if [ -n "$loader" ]; then
    cp -L "$loader" "$W/icd/libOpenCL.so.1"
  else
    echo "no libOpenCL.so.1 here (apt-get install ocl-icd-libopencl1): none carried" >&2
  fi
  du -sh "$W"
  echo "carry native/opencl/target/gpu-check; run: bash native/opencl/gpu-check.sh run"
}

run() {
  : "${OUT:?set OUT to the folder for the results}"
  mkdir -p "$OUT"
  local log="$OUT/log.txt"
  : >"$log"
  say() { echo "$*" | tee -a "$log"; }
  [ -d "$W/lib" ] || { say "no $W: run 'gpu-check.sh prepare' first and carry it"; exit 2; }
  local tmp
  tmp=$(mktemp -d)
  say "gpu-check $(date -u +%FT%TZ) on $(uname -srm), $(nproc) processors"
  command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 | tee -a "$log"

  # java: the machine's if it is 25 or later, else the carried runtime
  local java=""
  if command -v java >/dev/null; then
    local v
    v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    [ "${v%%.*}" -ge 25 ] 2>/dev/null && java=$(command -v java)
  fi
  if [ -z "$java" ]; then
    tar -C "$tmp" -xzf "$W/jdk.tar.gz"
    java="$tmp/jdk/bin/java"
  fi
  say "java: $java ($("$java" -version 2>&1 | head -1))"

  # the OpenCL loader under the name JOCL opens (libOpenCL.so): the carried ocl-icd, else the
  # machine's (system or CUDA's)
  mkdir -p "$tmp/cl"
  local loader=""
  for f in "$W/icd/libOpenCL.so.1" \
    $(ldconfig -p 2>/dev/null | awk '/libOpenCL\.so(\.1)? .*x86-64/ {print $NF}') \
    /usr/local/cuda/lib64/libOpenCL.so.1 /usr/local/cuda/targets/x86_64-linux/lib/libOpenCL.so.1; do
    if [ -f "$f" ]; then loader=$f; break; fi
  done
  if [ -n "$loader" ]; then
    ln -sf "$loader" "$tmp/cl/libOpenCL.so"
    ln -sf "$loader" "$tmp/cl/libOpenCL.so.1"
  fi
  say "OpenCL loader: ${loader:-none found}"
  # NVIDIA's ICD: when no vendor file names one, write one for libnvidia-opencl.so.1
  local extra=""
  if ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    local icd=""
    for f in $(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 .*x86-64/ {print $NF}') \
      /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/local/nvidia/lib/libnvidia-opencl.so.1 \
      /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 \
      $(find /usr/local/nvidia /usr/lib /usr/lib64 -name 'libnvidia-opencl.so*' 2>/dev/null); do
      if [ -f "$f" ]; then icd=$f; break; fi
    done
    if [ -n "$icd" ]; then
      mkdir -p "$tmp/vendors"
      echo "$icd" >"$tmp/vendors/nvidia.icd"
      export OCL_ICD_VENDORS="$tmp/vendors" OCL_ICD_FILENAMES="$icd"
      extra=$(dirname "$icd")
      say "ICD: wrote $tmp/vendors/nvidia.icd -> $icd"
    else
      say "ICD: /etc/OpenCL/vendors is empty and no libnvidia-opencl.so found"
    fi
  else
    say "ICD: $(cat /etc/OpenCL/vendors/*.icd | tr '\n' ' ')"
  fi
  export LD_LIBRARY_PATH="$tmp/cl${extra:+:$extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

  local device=${DEVICE:-gpu}
  local cp="$W/classes:$W/test-classes:$W/lib/*"
  local flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
    --sun-misc-unsafe-memory-access=allow -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=2 -Xss8m
    "-Djrnn.opencl.device=$device" -cp "$cp")
  check() { # check NAME LIMIT_SECONDS FILE ARGS...: a GpuCheck command, its status to the log
    local name=$1 limit=$2 file=$3
    shift 3
    local t0=$SECONDS
    CI=true timeout -k 10 "$limit" "$java" "${flags[@]}" dev.jrnn.opencl.GpuCheck "$@" 2>&1 |
      grep -v 'incubator modules' | tee "$file"
    local rc=$?
    say "step $name: exit $rc after $((SECONDS - t0)) s (limit $limit s)"
  }

  local steps=" ${STEPS:-devices tests bench persistent} "
  [[ $steps == *" devices "* ]] && check devices 30 "$OUT/devices.txt" devices
  if [[ $steps == *" tests "* ]]; then
    local suites=${SUITES:-$(cd "$W/test-classes" && find dev -name '*Test.class' |
      sed 's/\.class$//; s#/#.#g' | sort)}
    # shellcheck disable=SC2086
    check tests "${TEST_TIMEOUT:-240}" "$OUT/tests.txt" tests $suites
  fi
  local bench=(--device "$device" --seconds "${BENCH_SECONDS:-3}" --min-runs "${MIN_RUNS:-3}")
  [ -n "${THREADS:-}" ] && bench+=(--threads "$THREADS")
  [[ $steps == *" bench "* ]] && check bench "${BENCH_TIMEOUT:-150}" "$OUT/bench.md" bench \
    "${bench[@]}" ${ONLY:+--only "$ONLY"}
  [[ $steps == *" persistent "* ]] &&
    check persistent "${PERSISTENT_TIMEOUT:-60}" "$OUT/persistent.md" persistent "${bench[@]}"
  rm -rf "$tmp"
  say "done: $(ls "$OUT" | tr '\n' ' ')"
}

case "$cmd" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
