#!/usr/bin/env bash
# The sk_cry runtime on 64-bit ARM (aarch64, a Raspberry Pi's architecture),
# emulated on an x86_64 Debian 12 machine and compared with x86_64.
#
#   tools/arm_check.sh setup   # once: qemu, an arm64 Python 3.11, aarch64 wheels
#   tools/arm_check.sh check   # export on x86_64, run on aarch64, compare
#   tools/arm_check.sh ready   # exit 0 when setup is done (tests/test_arm.py asks)
#   tools/arm_check.sh         # setup, then check
#
# setup (25-35 s with qemu's install, 250 MB under $SK_CRY_ARM_CACHE):
# - qemu-user-static from Debian (apt-get, as root) unless $QEMU names a
#   qemu-aarch64 already there;
# - sysroot/: Debian bookworm's arm64 python3.11 (3.11.2, the Python of
#   64-bit Raspberry Pi OS bookworm) and the libraries it needs, fetched with
#   apt-get download through a private apt state (the host's apt is not
#   touched: no dpkg --add-architecture) and unpacked with dpkg -x;
# - site-<hash>/: the aarch64 wheels of pyproject.toml's `dependencies`, by
#   pip install --target --platform manylinux_2_{17..36}_aarch64 (glibc 2.36 is
#   bookworm's) --only-binary=:all:, one folder per set of requirements.
# check (65-100 s on 2 cores shared with other work): copies sk_cry (pure
# Python) from this tree and runs tools/arm_check.py: export (on x86_64: a CNN
# trained for 2 epochs and an SVM, on synthetic cries), measure on x86_64,
# measure on each board under qemu-aarch64 (the aarch64 Python, wheels and
# copy), compare. It writes x86_64.json, aarch64-<board>.json and
# compare-<board>.json to $SK_CRY_ARM_OUT and exits 1 when a probability
# differs by more than $SK_CRY_ARM_TOL or anything else (labels, silent
# windows, read errors, events) differs.
#
# Boards. The emulated programs see a Raspberry Pi's CPU, for two reasons.
# 1. qemu-user 7.2 (Debian 12's) passes the host's x86 /proc/cpuinfo through
# to aarch64 programs, and the cpuinfo library inside ai-edge-litert >= 2.2
# then writes through a NULL L2 cache table (cpuinfo_arm_linux_init, SIGSEGV
# at address 0x8) once it reads an L2 size from
# /sys/devices/system/cpu/cpu*/cache/index2: it counted no L2 for cores it
# could not identify, yet fills one in from sysfs (pytorch/cpuinfo pull
# requests 418 and 398). A real ARM kernel lists its cores in /proc/cpuinfo;
# with any ARM /proc/cpuinfo (a Pi 3, 4 or 5, an unknown part, or qemu 10's
# own), with or without sysfs caches, LiteRT 2.2.0 and 2.3.0 run. So each
# board gets a root of links to the sysroot plus proc/cpuinfo and
# sys/devices/system/cpu/ as that Pi shows them (qemu -L serves a path from
# that root when it is there); the boards run side by side.
# 2. The board's cores decide which kernels LiteRT and numpy pick, so qemu
# emulates them (-cpu) instead of its default "max" (SVE, dot products...).
# (XNNPACK, inside LiteRT, also has kernels tuned for the Cortex-A53, chosen
# by the core /proc/cpuinfo names.) $SK_CRY_ARM_BOARDS lists the boards, by
# default all three: pi3 (Cortex-A53, ARMv8.0: a Pi 3, a Zero 2 W), pi4
# (Cortex-A72, ARMv8.0), pi5 (Cortex-A76, ARMv8.2: dot products, fp16); or
# host (the host's view and qemu's "max": what crashes LiteRT >= 2.2 under
# qemu 7.2, though not under qemu 10.0, QEMU=.../qemu-aarch64).
#
# Environment:
#   SK_CRY_ARM_CACHE   the environment (default ~/.cache/sk-cry-arm)
#   SK_CRY_ARM_OUT     check's files (default $SK_CRY_ARM_CACHE/run; emptied)
#   SK_CRY_ARM_BOARDS  boards to measure: pi3, pi4, pi5, host (default "pi3 pi4 pi5")
#   SK_CRY_ARM_LITERT  a requirement that replaces ai-edge-litert's,
#                      e.g. "ai-edge-litert==2.1.6"
#   SK_CRY_ARM_TOL     largest |delta p| allowed (default 1e-5)
#   QEMU               the qemu-aarch64 to run (default qemu-aarch64-static)
#   PYTHON             the x86_64 Python with sk-cry[train] (default
#                      .venv/bin/python, else python3); its pip fetches wheels
#   DEBIAN_MIRROR      default http://deb.debian.org
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SK_CRY_ARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sk-cry-arm}
OUT=${SK_CRY_ARM_OUT:-$CACHE/run}
BOARDS=${SK_CRY_ARM_BOARDS:-pi3 pi4 pi5}
TOL=${SK_CRY_ARM_TOL:-1e-5}
QEMU=${QEMU:-qemu-aarch64-static}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$ROOT/.venv/bin/python" ] && PYTHON=$ROOT/.venv/bin/python
fi
SYSROOT=$CACHE/sysroot

requirements() {  # pyproject's dependencies, one a line, LiteRT's replaced if asked
    "$PYTHON" - "$ROOT/pyproject.toml" "${SK_CRY_ARM_LITERT:-}" <<'EOF'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
if sys.argv[2]:
    deps = [sys.argv[2] if re.match(r"ai-edge-litert\b", d) else d for d in deps]
print("\n".join(deps))
EOF
}
site_dir() { echo "$CACHE/site-$(requirements | sha256sum | cut -c1-12)"; }

ready() {
    local missing=()
    command -v "$QEMU" >/dev/null || missing+=("$QEMU (apt-get install qemu-user-static)")
    [ -f "$SYSROOT/.complete" ] || missing+=("the arm64 Python in $SYSROOT")
    [ -f "$(site_dir)/.complete" ] || missing+=("the aarch64 wheels in $(site_dir)")
    if [ ${#missing[@]} -gt 0 ]; then
        printf 'missing: %s\n' "${missing[@]}" >&2
        echo "run: tools/arm_check.sh setup" >&2
        return 1
    fi
}

apt_arm64() {  # apt for Debian bookworm's arm64 packages, in a private state
    mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial"
    touch "$CACHE/apt/status"
    local keys=/usr/share/keyrings/debian-archive-keyring.gpg
    cat > "$CACHE/apt/sources.list" <<EOF
deb [signed-by=$keys] $MIRROR/debian bookworm main
deb [signed-by=$keys] $MIRROR/debian bookworm-updates main
deb [signed-by=$keys] $MIRROR/debian-security bookworm-security main
EOF
    "$1" -q -o APT::Architecture=arm64 -o APT::Architectures=arm64 \
        -o Dir::Etc::SourceList="$CACHE/apt/sources.list" \
        -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$CACHE/apt/lists" \
        -o Dir::State::status="$CACHE/apt/status" -o Dir::Cache="$CACHE/apt/cache" \
        -o APT::Sandbox::User=root "${@:2}"
}

setup_qemu() {
    command -v "$QEMU" >/dev/null && return
    if [ "$(id -u)" != 0 ]; then
        echo "no $QEMU: run as root, or apt-get install qemu-user-static" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        qemu-user-static >/dev/null
}

setup_sysroot() {
    [ -f "$SYSROOT/.complete" ] && return
    apt_arm64 apt-get update >/dev/null
    # python3.11 and what it links, as dpkg would install them; perl, dpkg and
    # tar come through mime-support and are not needed to run Python
    local packages
    packages=$(apt_arm64 apt-cache depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances \
        python3.11-minimal libpython3.11-stdlib libstdc++6 \
        | grep -v '^ ' | grep -v '^<' | sort -u \
        | grep -vxE 'perl|perl-base|perl-modules-5\.36|libperl5\.36|libgdbm-compat4|dpkg|tar|install-info|mailcap|mime-support')
    rm -rf "$CACHE/debs" "$SYSROOT.partial"
    mkdir -p "$CACHE/debs" "$SYSROOT.partial"
    # shellcheck disable=SC2086
    (cd "$CACHE/debs" && apt_arm64 apt-get download $packages >/dev/null)
    for deb in "$CACHE"/debs/*.deb; do
        dpkg -x "$deb" "$SYSROOT.partial"
    done
    rm -rf "$SYSROOT" && mv "$SYSROOT.partial" "$SYSROOT"
    "$QEMU" -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11" -c "import ssl, ctypes, zlib"
    touch "$SYSROOT/.complete"
}

setup_wheels() {
    local site platforms=()
    site=$(site_dir)
    [ -f "$site/.complete" ] && return
    for minor in $(seq 36 -1 17); do
        platforms+=(--platform "manylinux_2_${minor}_aarch64")
    done
    rm -rf "$site"
    # shellcheck disable=SC2046
    "$PYTHON" -m pip install -q --no-warn-conflicts --target "$site" \
        "${platforms[@]}" --platform manylinux2014_aarch64 --python-version 3.11 \
        --implementation cp --abi cp311 --only-binary=:all: $(requirements)
    requirements > "$site/.complete"
}

write_cpu_view() {  # $1's proc/cpuinfo and sys/devices/system/cpu as board $2 shows them
    local root=$1 part variant revision features fmax fmin caches model n cache
    case $2 in
        host) return ;;
        pi5)  # BCM2712; caches as raspberrypi/linux's device tree has them (2024)
            part=0xd0b variant=0x4 revision=1 fmax=2400000 fmin=1500000
            features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
            caches="1:Data:64K:self 1:Instruction:64K:self 2:Unified:512K:self 3:Unified:2048K:all"
            model="Raspberry Pi 5 Model B Rev 1.0" ;;
        pi4)  # BCM2711, Cortex-A72 caches
            part=0xd08 variant=0x0 revision=3 fmax=1800000 fmin=600000
            features="fp asimd evtstrm crc32 cpuid"
            caches="1:Data:32K:self 1:Instruction:48K:self 2:Unified:1024K:all"
            model="Raspberry Pi 4 Model B Rev 1.4" ;;
        pi3)  # BCM2837B0 (a Pi 3 B+; a Zero 2 W's RP3A0 has the same cores)
            part=0xd03 variant=0x0 revision=4 fmax=1400000 fmin=600000
            features="fp asimd evtstrm crc32 cpuid"
            caches="1:Data:32K:self 1:Instruction:32K:self 2:Unified:512K:all"
            model="Raspberry Pi 3 Model B Plus Rev 1.3" ;;
        *) echo "SK_CRY_ARM_BOARDS takes pi3, pi4, pi5 and host, not $2" >&2; exit 2 ;;
    esac
    mkdir -p "$root/proc"
    for n in 0 1 2 3; do
        printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' \
            "$n" "$features" "$variant" "$part" "$revision"
    done > "$root/proc/cpuinfo"
    printf 'Model\t\t: %s\n' "$model" >> "$root/proc/cpuinfo"
    local sys=$root/sys/devices/system/cpu
    mkdir -p "$sys"
    echo 3 > "$sys/kernel_max"
    for f in possible present online; do echo 0-3 > "$sys/$f"; done
    for n in 0 1 2 3; do
        mkdir -p "$sys/cpu$n/cpufreq" "$sys/cpu$n/topology"
        echo "$fmax" > "$sys/cpu$n/cpufreq/cpuinfo_max_freq"
        echo "$fmin" > "$sys/cpu$n/cpufreq/cpuinfo_min_freq"
        echo 0 > "$sys/cpu$n/topology/physical_package_id"
        echo "$n" > "$sys/cpu$n/topology/core_id"
        for f in core_siblings_list package_cpus_list cluster_cpus_list; do
            echo 0-3 > "$sys/cpu$n/topology/$f"
        done
        echo "$n" > "$sys/cpu$n/topology/thread_siblings_list"
        local i=0
        for cache in $caches; do
            IFS=: read -r level type size shared <<< "$cache"
            local dir=$sys/cpu$n/cache/index$i
            mkdir -p "$dir"
            echo "$level" > "$dir/level"; echo "$type" > "$dir/type"
            echo "$size" > "$dir/size"; echo 64 > "$dir/coherency_line_size"
            if [ "$shared" = self ]; then echo "$n"; else echo 0-3; fi > "$dir/shared_cpu_list"
            i=$((i + 1))
        done
    done
}

check() {
    ready
    local site start=$SECONDS
    site=$(site_dir)
    rm -rf "$OUT" && mkdir -p "$OUT/pkg"
    cp -r "$ROOT/sk_cry" "$OUT/pkg/"
    find "$OUT/pkg" -name __pycache__ -prune -exec rm -rf {} +
    TF_CPP_MIN_LOG_LEVEL=3 "$PYTHON" "$ROOT/tools/arm_check.py" export "$OUT/work" \
        > "$OUT/export.log" 2>&1 || { tail -30 "$OUT/export.log" >&2; exit 1; }
    echo "exported on x86_64 ($((SECONDS - start)) s)"
    "$PYTHON" "$ROOT/tools/arm_check.py" measure "$OUT/work" "$OUT/x86_64.json" \
        2> "$OUT/x86_64.log" || { tail -30 "$OUT/x86_64.log" >&2; exit 1; }
    # the boards run side by side, each in its own root: the sysroot's files
    # linked, its own proc/ and sys/
    local pids=() board failed=0
    for board in $BOARDS; do
        measure_board "$board" "$site" &
        pids+=($!)
    done
    for board in $BOARDS; do
        if wait "${pids[0]}"; then
            echo "measured on aarch64, board $board ($(cat "$OUT/aarch64-$board.seconds") s)"
            "$PYTHON" "$ROOT/tools/arm_check.py" compare "$OUT/x86_64.json" \
                "$OUT/aarch64-$board.json" "$OUT/compare-$board.json" --tol "$TOL" || failed=1
        else
            tail -20 "$OUT/aarch64-$board.log" >&2
            echo "aarch64 run failed, board $board" >&2
            failed=1
        fi
        pids=("${pids[@]:1}")
    done
    echo "qemu: $("$QEMU" --version | head -1)"
    return $failed
}

measure_board() {  # board, site: the measurement under qemu-aarch64
    local board=$1 root=$CACHE/boards/$1 cpu=() start=$SECONDS
    # the board's cores, so that LiteRT and numpy pick the kernels the Pi's
    # instruction set allows (qemu's default "max" has SVE, dot products...)
    case $board in
        pi3) cpu=(-cpu cortex-a53) ;; pi4) cpu=(-cpu cortex-a72) ;; pi5) cpu=(-cpu cortex-a76) ;;
    esac
    rm -rf "$root" && mkdir -p "$root"
    for dir in etc lib usr; do ln -s "$SYSROOT/$dir" "$root/$dir"; done
    write_cpu_view "$root" "$board"
    PYTHONPATH="$OUT/pkg:$2" PYTHONNOUSERSITE=1 "$QEMU" "${cpu[@]}" -L "$root" \
        "$root/usr/bin/python3.11" "$ROOT/tools/arm_check.py" measure "$OUT/work" \
        "$OUT/aarch64-$board.json" 2> "$OUT/aarch64-$board.log"
    echo $((SECONDS - start)) > "$OUT/aarch64-$board.seconds"
}

case ${1:-all} in
    ready) ready ;;
    setup)
        start=$SECONDS
        setup_qemu && setup_sysroot && setup_wheels
        echo "set up in $CACHE ($((SECONDS - start)) s)" ;;
    check) check ;;
    all)
        start=$SECONDS
        setup_qemu && setup_sysroot && setup_wheels
        echo "set up in $CACHE ($((SECONDS - start)) s)"
        check ;;
    *) echo "usage: $0 [setup|check|ready|all]" >&2; exit 2 ;;
esac
