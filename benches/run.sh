#!/usr/bin/env bash
# Benchmark huber against cat, numpy, PyTorch, polars, DuckDB (and pandas) side by side,
# and check the performance targets of the NPY, CSV, quoted CSV and Parquet runs.
#
#   benches/run.sh                 # full size: 2 × 50M f32 NPY, 10M-row CSV, 10M-row Parquet
#   benches/run.sh prepare         # only install, build and generate data (no timing)
#   benches/run.sh axis            # only --axis 1,2 over an f32 (1000, 256, 256) pair against
#                                  # the whole-array mean, timed alternately (numpy as for alternate)
#   benches/run.sh by              # only --by against the plain mean and DuckDB's GROUP BY
#   benches/run.sh alternate       # only huber against cat on NPY, timed alternately (needs
#                                  # numpy in python3 or the bench venv; no torch, no hyperfine)
#   benches/run.sh top             # the same, then --top 100 against the plain mean
#   SCALE=0.01 benches/run.sh      # quick run with 1% of the data
#
# Knobs (environment):
#   SCALE   fraction of the full data size (default 1). Targets are defined at SCALE=1 only.
#   RUNS    hyperfine runs per command for the big inputs (default 10)
#   WARMUP  hyperfine warm-up runs (default 2)
#   STRICT  1 = exit 1 when a target FAILs (default 0: report only)
#   ROUNDS  rounds of the alternating comparisons (default 11)
#   PYTHON  a python3 with numpy, for `alternate` without the bench venv (default python3)
#
# Needs: Rust toolchain, python3 (with venv), network to PyPI and Debian.
# Writes: target/bench-venv (≈5.5 GB, torch from PyPI brings CUDA wheels),
#         target/bench-data (≈0.6 GB at SCALE=1, +0.6 GB while running; reduced runs
#         in scale-*/ below it), target/bench-out (hyperfine JSON, logs),
#         target/bench-results.md (the table).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

SCALE=${SCALE:-1}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
STRICT=${STRICT:-0}
ROUNDS=${ROUNDS:-11}

VENV=$ROOT/target/bench-venv
PY=$VENV/bin/python
# Full-size data lives in target/bench-data; a reduced run keeps its own
# subfolder so that it does not throw away (and later regenerate) the big files.
DATA=$ROOT/target/bench-data
[[ $SCALE == 1 ]] || DATA=$DATA/scale-$SCALE
OUT=$ROOT/target/bench-out
RESULTS=$ROOT/target/bench-results.md
HUBER=$ROOT/target/release/huber

# Full-size shapes; SCALE shrinks them (never below a few rows).
N_NPY=$(python3 -c "print(max(16, round(50_000_000 * float('$SCALE'))))")
N_CSV=$(python3 -c "print(max(16, round(10_000_000 * float('$SCALE'))))")
N_PQ=$N_CSV

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------------------
# 1. Tools: hyperfine and GNU time from Debian, a private venv from PyPI.
# --------------------------------------------------------------------------
install_debian_tools() {
    local missing=()
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    # The shell builtin `time` cannot report peak RSS; GNU time's -v can.
    [[ -x /usr/bin/time ]] || missing+=(time)
    ((${#missing[@]} == 0)) && return
    log "installing ${missing[*]} from Debian"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when the install fails without it.
    "${sudo[@]}" apt-get install -y -q "${missing[@]}" ||
        { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q "${missing[@]}"; }
}

venv_ready() {
    [[ -x $PY ]] && "$PY" -c 'import numpy, torch, polars, threadpoolctl' 2>/dev/null
}

install_venv() {
    venv_ready && return
    log "creating $VENV with numpy, torch, polars, pandas (first time: several minutes, ~5 GB)"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    "$PY" -m pip install -q --upgrade pip
    # Plain PyPI wheels, as a user would get them. threadpoolctl only reports
    # which BLAS kernel numpy/torch picked.
    "$PY" -m pip install -q numpy torch polars threadpoolctl
    # pandas is a cheap extra row; the benchmark goes on without it.
    "$PY" -m pip install -q pandas || echo "warning: pandas not installed; skipping its row" >&2
    "$PY" -m pip install -q duckdb || echo "warning: duckdb not installed; skipping its rows" >&2
    venv_ready || die "venv at $VENV cannot import numpy, torch and polars"
}

# pyarrow writes the Parquet file; DuckDB is a competitor on it.
install_columnar_tools() {
    "$PY" -c 'import pyarrow, duckdb' 2>/dev/null && return
    log "installing pyarrow and duckdb into $VENV"
    "$PY" -m pip install -q pyarrow duckdb
}

# numpy/torch run with OpenBLAS tuned for the real CPU: this machine may set
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds, which slows a
# current numpy (see the env README). Unset both for the Python tools only.
PYENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

# --------------------------------------------------------------------------
# 2. huber itself.
# --------------------------------------------------------------------------
build_huber() {
    log "cargo build --release"
    cargo build --release --quiet
    [[ -x $HUBER ]] || die "no $HUBER after the build"
}

# --------------------------------------------------------------------------
# 3. Data. Regenerated only when the stamp (sizes + generator version) changes.
# --------------------------------------------------------------------------
GEN_VERSION=1

generate_data() {
    local stamp="npy=$N_NPY csv=$N_CSV gen=$GEN_VERSION"
    if [[ -f $DATA/stamp && $(<"$DATA/stamp") == "$stamp" ]] &&
        [[ -f $DATA/p.npy && -f $DATA/t.npy && -f $DATA/d.csv && -f $DATA/tiny_p.npy && -f $DATA/tiny_t.npy ]]; then
        log "data present ($stamp)"
        return
    fi
    log "generating data: NPY 2 × $N_NPY f32, CSV $N_CSV rows"
    mkdir -p "$DATA"
    rm -f "$DATA/stamp" # written again only once every file is complete
    "${PYENV[@]}" "$PY" - "$DATA" "$N_NPY" "$N_CSV" <<'EOF'
import os, sys
import numpy as np
import polars as pl

out, n_npy, n_csv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CHUNK = 1 << 22  # generate and write in chunks: bounded memory at any size


def chunks(n, seed):
    """(pred, target) f32 chunks: target ~ N(0,1), pred = target + N(0, 0.5²),
    with 1% outliers whose noise is 20× larger, so both Huber branches are hit."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        t = rng.standard_normal(m, dtype=np.float32)
        noise = rng.standard_normal(m, dtype=np.float32) * np.float32(0.5)
        noise[rng.random(m) < 0.01] *= np.float32(20)
        yield t + noise, t


def npy_writer(path, n):
    f = open(path, "wb")
    np.lib.format.write_array_header_1_0(
        f, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
    return f


def write_npy_pair(n, seed, p_path, t_path):
    with npy_writer(p_path + ".tmp", n) as fp, npy_writer(t_path + ".tmp", n) as ft:
        for p, t in chunks(n, seed):
            fp.write(p.tobytes())
            ft.write(t.tobytes())
    os.replace(p_path + ".tmp", p_path)
    os.replace(t_path + ".tmp", t_path)


def write_csv(n, seed, path):
    # polars writes CSV fast; 7 decimals give ~7–9 significant digits.
    with open(path + ".tmp", "wb") as f:
        for i, (p, t) in enumerate(chunks(n, seed)):
            pl.DataFrame({"pred": p, "target": t}).write_csv(
                f, include_header=(i == 0), float_precision=7)
    os.replace(path + ".tmp", path)


write_npy_pair(n_npy, 1, f"{out}/p.npy", f"{out}/t.npy")
write_csv(n_csv, 2, f"{out}/d.csv")
np.save(f"{out}/tiny_p.npy", np.array([0.5, -1.25, 3.0, 2.0], dtype=np.float32))
np.save(f"{out}/tiny_t.npy", np.array([0.0, 1.0, 0.5, 2.25], dtype=np.float32))
EOF
    echo "$stamp" >"$DATA/stamp"
}

# The CSV file with text: id,date,pred,target, the id quoted (it holds a comma, and every tenth a
# doubled quote), as pandas writes an evaluation frame. Its own stamp, so that adding it does not
# regenerate the big NPY files.
generate_quoted() {
    local stamp="qcsv=$N_CSV gen=1"
    if [[ -f $DATA/q.stamp && $(<"$DATA/q.stamp") == "$stamp" && -f $DATA/q.csv ]]; then
        return
    fi
    log "generating data: quoted CSV $N_CSV rows"
    mkdir -p "$DATA"
    rm -f "$DATA/q.stamp"
    "${PYENV[@]}" "$PY" - "$DATA" "$N_CSV" <<'PYEOF'
import os, sys
import numpy as np
import polars as pl

out, n = sys.argv[1], int(sys.argv[2])
CHUNK = 1 << 20
rng = np.random.default_rng(3)
path = f"{out}/q.csv"
days = pl.Series(["2024-%02d-%02d" % (1 + k % 12, 1 + k % 28) for k in range(336)])
with open(path + ".tmp", "wb") as f:
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        t = rng.standard_normal(m, dtype=np.float32)
        p = t + rng.standard_normal(m, dtype=np.float32) * np.float32(0.5)
        i = np.arange(start, start + m)
        ids = pl.Series([f'shop "{k}", aisle' if k % 10 == 0 else f"shop {k}, aisle" for k in i])
        pl.DataFrame({"id": ids, "date": days[i % 336], "pred": p, "target": t}).write_csv(
            f, include_header=(start == 0), float_precision=7)
os.replace(path + ".tmp", path)
PYEOF
    echo "$stamp" >"$DATA/q.stamp"
}

# 10M rows (at SCALE=1): an id string column and float64 pred/target, zstd, as pyarrow writes it
# (row groups of 1Mi rows), generated and written in pieces.
generate_parquet() {
    local stamp="parquet=$N_PQ gen=1"
    if [[ -f $DATA/pq.stamp && $(<"$DATA/pq.stamp") == "$stamp" && -f $DATA/d.parquet ]]; then
        log "Parquet data present ($stamp)"
        return
    fi
    log "generating data: Parquet $N_PQ rows"
    mkdir -p "$DATA"
    rm -f "$DATA/pq.stamp"
    "${PYENV[@]}" "$PY" - "$DATA/d.parquet" "$N_PQ" <<'EOF'
import os, sys
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(3)
schema = pa.schema([("id", pa.string()), ("pred", pa.float64()), ("target", pa.float64())])
with pq.ParquetWriter(path + ".tmp", schema, compression="zstd") as w:
    step = 1 << 20
    for start in range(0, n, step):
        m = min(step, n - start)
        t = rng.standard_normal(m)
        p = t + rng.standard_normal(m) * 0.5
        ids = pa.array([f"sample-{i:09d}" for i in range(start, start + m)])
        w.write_table(pa.table({"id": ids, "pred": p, "target": t}, schema=schema))
os.replace(path + ".tmp", path)
EOF
    echo "$stamp" >"$DATA/pq.stamp"
}

# --------------------------------------------------------------------------
# Python competitors, written as small scripts so hyperfine runs them without a shell.
# Each prints the loss it computed; startup and import time are part of the cost.
# --------------------------------------------------------------------------
write_py_scripts() {
    mkdir -p "$OUT/py"
    cat >"$OUT/py/numpy_npy.py" <<'EOF'
import sys
import numpy as np
p, t = np.load(sys.argv[1]), np.load(sys.argv[2])
delta = np.float32(1.0)
d = np.abs(p - t)
print(repr(float(np.where(d < delta, np.float32(0.5) * d * d, delta * (d - np.float32(0.5) * delta)).mean())))
EOF
    cat >"$OUT/py/torch_npy.py" <<'EOF'
import sys
import numpy as np
import torch
import torch.nn.functional as F
p = torch.from_numpy(np.load(sys.argv[1]))
t = torch.from_numpy(np.load(sys.argv[2]))
print(repr(F.huber_loss(p, t, reduction="mean", delta=1.0).item()))
EOF
    cat >"$OUT/py/polars_csv.py" <<'EOF'
import sys
import polars as pl
delta = 1.0
df = pl.read_csv(sys.argv[1])
d = (pl.col("pred") - pl.col("target")).abs()
print(repr(df.select(pl.when(d < delta).then(0.5 * d * d).otherwise(delta * (d - 0.5 * delta)).mean()).item()))
EOF
    # DuckDB's own CSV reader and aggregate, as a reference for the whole process.
    cat >"$OUT/py/duckdb_csv.py" <<'EOF'
import sys
import duckdb
q = f"""SELECT avg(CASE WHEN abs(pred - target) < 1.0 THEN 0.5 * abs(pred - target) * abs(pred - target)
    ELSE abs(pred - target) - 0.5 END) FROM read_csv('{sys.argv[1]}')"""
print(repr(duckdb.connect().execute(q).fetchone()[0]))
EOF
    cat >"$OUT/py/polars_parquet.py" <<'EOF'
import sys
import polars as pl
delta = 1.0
df = pl.read_parquet(sys.argv[1], columns=["pred", "target"])
d = (pl.col("pred") - pl.col("target")).abs()
print(repr(df.select(pl.when(d < delta).then(0.5 * d * d).otherwise(delta * (d - 0.5 * delta)).mean()).item()))
EOF
    cat >"$OUT/py/duckdb_parquet.py" <<'EOF'
import sys
import duckdb
q = """SELECT avg(CASE WHEN abs(pred - target) < 1.0 THEN 0.5 * abs(pred - target) * abs(pred - target)
       ELSE abs(pred - target) - 0.5 END) FROM read_parquet(?)"""
print(repr(duckdb.execute(q, [sys.argv[1]]).fetchone()[0]))
EOF
    cat >"$OUT/py/pandas_csv.py" <<'EOF'
import sys
import numpy as np
import pandas as pd
delta = 1.0
df = pd.read_csv(sys.argv[1])
d = (df["pred"] - df["target"]).abs().to_numpy()
print(repr(float(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)).mean())))
EOF
}

print_versions() {
    "${PYENV[@]}" "$PY" - <<'EOF'
import numpy, torch, polars, threadpoolctl, pyarrow, duckdb
try:
    import pandas
    pv = pandas.__version__
except ImportError:
    pv = "not installed"
print(f"numpy {numpy.__version__}, torch {torch.__version__}, polars {polars.__version__}, pandas {pv}, "
      f"pyarrow {pyarrow.__version__}, duckdb {duckdb.__version__}")
# Which BLAS/OpenMP kernels numpy and torch run with (OPENBLAS_CORETYPE unset).
for lib in threadpoolctl.threadpool_info():
    print(f"  {lib.get('internal_api')} {lib.get('version')} arch={lib.get('architecture', '-')} "
          f"threads={lib.get('num_threads')} ({lib.get('prefix')})")
EOF
}

# --------------------------------------------------------------------------
# 4. Measurement helpers.
# --------------------------------------------------------------------------
# A benchmark is a key (for file names), a label (for the table) and a command
# string (shell words, quoted with printf %q so paths may hold spaces).
declare -A LABEL CMD MEDIAN RSS VALUE
ORDER=()

q() { printf '%q ' "$@"; }

bench_def() { # key label command...
    local key=$1 label=$2
    shift 2
    LABEL[$key]=$label
    CMD[$key]=$(q "$@")
    ORDER+=("$key")
}

warm_cache() { cat "$@" >/dev/null; }

# Run one hyperfine over several keys and read back each median.
run_hyperfine() { # group runs key...
    local group=$1 runs=$2
    shift 2
    local args=() key
    for key in "$@"; do args+=(-n "$key" "${CMD[$key]}"); done
    log "hyperfine: $group"
    # -N: no intermediate shell, so the 4-element timing is not a shell's startup.
    # PREPARE (optional): a command run before each timing, e.g. to remove an output file.
    local prep=()
    [[ -n ${PREPARE:-} ]] && prep=(--prepare "$PREPARE")
    hyperfine -N --style basic --warmup "$WARMUP" --runs "$runs" "${prep[@]}" \
        --export-json "$OUT/$group.json" "${args[@]}"
    while IFS=$'\t' read -r key median; do
        MEDIAN[$key]=$median
    done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], r["median"], sep="\t")' "$OUT/$group.json")
    for key in "$@"; do
        [[ -n ${MEDIAN[$key]:-} ]] || die "no median for $key in $OUT/$group.json"
    done
}

# Times two benchmarks alternately, A B A B … for ROUNDS rounds: a noisy machine then slows
# both alike, which hyperfine (every run of A, then every run of B) cannot promise. PREPARE
# (optional) runs before each timing, untimed. Sets ALT[keyB] to B's median ÷ A's median and
# ALT_PAIR[keyB] to both medians ("A B", seconds) of these runs.
declare -A ALT ALT_PAIR
alternate() { # keyA keyB
    local a=$1 b=$2 i key s e
    local -A times=()
    log "alternating: ${LABEL[$a]} / ${LABEL[$b]}, $ROUNDS rounds"
    for ((i = 0; i < ROUNDS; i++)); do
        for key in "$a" "$b"; do
            [[ -n ${PREPARE:-} ]] && eval "$PREPARE"
            s=$EPOCHREALTIME
            eval "${CMD[$key]}" >/dev/null
            e=$EPOCHREALTIME
            times[$key]+="$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f", e - s }') "
        done
    done
    local -A median=()
    for key in "$a" "$b"; do
        median[$key]=$(tr ' ' '\n' <<<"${times[$key]}" | grep . | sort -g |
            awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    done
    ALT[$b]=$(ratio "${median[$b]}" "${median[$a]}")
    ALT_PAIR[$b]="${median[$a]} ${median[$b]}"
    printf '  %-34s %.4f s\n  %-34s %.4f s   %s× the first\n' "${LABEL[$a]}" "${median[$a]}" \
        "${LABEL[$b]}" "${median[$b]}" "${ALT[$b]}" >&2
}

# The NPY comparisons timed alternately (huber's peak RSS from one run under GNU time), as
# table rows in ALT_ROWS.
alternate_npy() { # p.npy t.npy
    local P=$1 T=$2
    bench_def alt_cat "cat p.npy t.npy" cat "$P" "$T"
    bench_def alt_mean "huber ($(nproc) threads)" "$HUBER" -p "$P" -t "$T"
    # One thread: what the run costs with no second core to share the page-cache copy, which
    # is what a machine busy with other work leaves it.
    bench_def alt_j1 "huber -j1" "$HUBER" -p "$P" -t "$T" -j 1
    bench_def alt_none "huber -r none -o out.npy" "$HUBER" -p "$P" -t "$T" -r none -o "$DATA/out.npy"
    bench_def alt_auto "huber -d auto" "$HUBER" -p "$P" -t "$T" -d auto
    warm_cache "$P" "$T"
    alternate alt_cat alt_mean
    alternate alt_cat alt_j1
    PREPARE="rm -f $DATA/out.npy" alternate alt_cat alt_none
    alternate alt_mean alt_auto
    local key
    for key in alt_mean alt_j1 alt_none alt_auto; do measure_rss "$key"; done
    rm -f "$DATA/out.npy"
    ALT_ROWS=(
        "| A | B | A median | B median | B ÷ A | B peak RSS |"
        "| --- | --- | --- | --- | --- | --- |"
    )
    local pair a b ta tb
    for pair in "alt_cat alt_mean" "alt_cat alt_j1" "alt_cat alt_none" "alt_mean alt_auto"; do
        read -r a b <<<"$pair"
        read -r ta tb <<<"${ALT_PAIR[$b]}"
        ALT_ROWS+=("| \`${CMD[$a]}\` | \`${CMD[$b]}\` | $(printf '%.4f' "$ta") s | $(printf '%.4f' "$tb") s | ${ALT[$b]}× | $(fmt_rss "${RSS[$b]}") |")
    done
    ALT_ROWS=("${ALT_ROWS[@]//"$HUBER"/huber}")
    ALT_ROWS=("${ALT_ROWS[@]//"$DATA/"/}")
}

# The alternating NPY comparisons alone, on data generated with numpy.
alternate_main() {
    build_huber
    mkdir -p "$DATA" "$OUT"
    local P=$DATA/p.npy T=$DATA/t.npy py=${PYTHON:-python3}
    [[ -x $PY ]] && py=$PY
    if [[ ! -f $P || ! -f $T ]]; then
        log "generating NPY 2 × $N_NPY f32"
        "$py" - "$P" "$T" "$N_NPY" <<'EOF'
import sys
import numpy as np

p, t, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
target = rng.standard_normal(n, dtype=np.float32)
noise = rng.standard_normal(n, dtype=np.float32) * np.float32(0.5)
noise[rng.random(n) < 0.01] *= np.float32(20)
np.save(p, target + noise)
np.save(t, target)
EOF
    fi
    alternate_npy "$P" "$T"
    [[ ${MODE:-} == top ]] && alternate_top "$P" "$T"
    {
        echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
        echo
        printf '%s\n' "${ALT_ROWS[@]}"
    } | tee "$RESULTS"
}

# Per-sample means of a batch: --axis 1,2 over an f32 (N, 256, 256) pair (N = 1000 at SCALE=1)
# against the whole-array mean of the same files, timed alternately; target ≤ 1.1 ×.
axis_main() {
    build_huber
    mkdir -p "$DATA" "$OUT"
    local P=$DATA/axis_p.npy T=$DATA/axis_t.npy py=${PYTHON:-python3} n
    [[ -x $PY ]] && py=$PY
    n=$(python3 -c "print(max(2, round(1000 * float('$SCALE'))))")
    if [[ ! -f $P || ! -f $T || $(cat "$DATA/axis_stamp" 2>/dev/null) != "$n" ]]; then
        log "generating NPY 2 × ($n, 256, 256) f32"
        rm -f "$DATA/axis_stamp"
        "$py" - "$P" "$T" "$n" <<'EOF'
import sys
import numpy as np

p, t, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(1)
# Written a block of samples at a time: bounded memory at any size.
shape = (n, 256, 256)
pm = np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=shape)
tm = np.lib.format.open_memmap(t, mode="w+", dtype=np.float32, shape=shape)
for s in range(0, n, 50):
    e = min(n, s + 50)
    target = rng.random((e - s, 256, 256), dtype=np.float32) * np.float32(10)
    tm[s:e] = target
    pm[s:e] = target + rng.standard_normal((e - s, 256, 256), dtype=np.float32)
pm.flush()
tm.flush()
EOF
        echo "$n" >"$DATA/axis_stamp"
    fi
    bench_def axis_mean "huber (whole-array mean)" "$HUBER" -p "$P" -t "$T"
    bench_def axis_cells "huber --axis 1,2" "$HUBER" -p "$P" -t "$T" --axis 1,2 -o "$DATA/axis_out.npy"
    warm_cache "$P" "$T"
    PREPARE="rm -f $DATA/axis_out.npy" alternate axis_mean axis_cells
    measure_rss axis_cells
    rm -f "$DATA/axis_out.npy"
    check "--axis 1,2 over ($n, 256, 256) f32 ≤ 1.1 × the whole-array mean (timed alternately)" \
        "$(le "${ALT[axis_cells]}" 1.1)" "${ALT[axis_cells]}×, peak RSS $(fmt_rss "${RSS[axis_cells]}")"
    {
        echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $ROUNDS rounds"
        echo
        echo "| A | B | A median | B median | B ÷ A | B peak RSS |"
        echo "| --- | --- | --- | --- | --- | --- |"
        local a=${CMD[axis_mean]//"$HUBER"/huber} b=${CMD[axis_cells]//"$HUBER"/huber} ta tb
        read -r ta tb <<<"${ALT_PAIR[axis_cells]}"
        printf '| `%s` | `%s` | %.4f s | %.4f s | %s× | %s |\n' "${a//"$DATA/"/}" "${b//"$DATA/"/}" \
            "$ta" "$tb" "${ALT[axis_cells]}" \
            "$(fmt_rss "${RSS[axis_cells]}")"
        echo
        printf '%s\n' "${CHECKS[@]}"
    } | tee "$OUT/axis.md"
    if ((FAILED)) && [[ $STRICT == 1 ]]; then exit 1; fi
}

# `--top 100` against the plain mean on the NPY pair, timed alternately; appends its row to
# ALT_ROWS (after alternate_npy, which defines alt_mean) and sets ALT[alt_top].
alternate_top() { # p.npy t.npy
    local P=$1 T=$2
    bench_def alt_mean "huber ($(nproc) threads)" "$HUBER" -p "$P" -t "$T"
    bench_def alt_top "huber --top 100" "$HUBER" -p "$P" -t "$T" --top 100
    warm_cache "$P" "$T"
    alternate alt_mean alt_top
    measure_rss alt_top
    local ta tb
    read -r ta tb <<<"${ALT_PAIR[alt_top]}"
    local row="| \`${CMD[alt_mean]}\` | \`${CMD[alt_top]}\` | $(printf '%.4f' "$ta") s | $(printf '%.4f' "$tb") s | ${ALT[alt_top]}× | $(fmt_rss "${RSS[alt_top]}") |"
    row=${row//"$HUBER"/huber}
    ALT_ROWS+=("${row//"$DATA/"/}")
}

# One run under GNU time for peak RSS; also keeps what the command printed.
measure_rss() { # key
    local key=$1
    local sink=$OUT/$key.stdout
    [[ $key == cat_* ]] && sink=/dev/null # cat prints the whole input
    /usr/bin/time -v -o "$OUT/$key.time" bash -c "${CMD[$key]}" >"$sink" 2>"$OUT/$key.stderr" ||
        die "${LABEL[$key]} failed: $(tail -5 "$OUT/$key.stderr")"
    RSS[$key]=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/$key.time")
    VALUE[$key]=""
    [[ $sink == /dev/null ]] || VALUE[$key]=$(head -c 200 "$sink" | tr '\n' ' ')
}

# --------------------------------------------------------------------------
# 5. Thread-count bit identity: -j1, -j2, -j3 must print the same bytes.
# --------------------------------------------------------------------------
IDENTITY=PASS
IDENTITY_NOTES=()

# ident_case name huber-args...: run with -j1, -j2, -j3, -j8 and compare the JSON bytes.
ident_case() {
    local name=$1 j
    shift
    for j in 1 2 3 8; do
        "$HUBER" "$@" -f json -j "$j" >"$OUT/ident-$name-j$j.json"
    done
    for j in 2 3 8; do
        if ! cmp -s "$OUT/ident-$name-j1.json" "$OUT/ident-$name-j$j.json"; then
            IDENTITY=FAIL
            IDENTITY_NOTES+=("$name: -j1 and -j$j differ")
        fi
    done
    echo "  $name: $(<"$OUT/ident-$name-j1.json")"
}

check_threads() {
    log "bit identity over --threads 1, 2, 3, 8"
    local P=$DATA/p.npy T=$DATA/t.npy CSV=$DATA/d.csv j
    ident_case npy-mean -p "$P" -t "$T" -r mean
    ident_case npy-sum -p "$P" -t "$T" -r sum
    ident_case csv-mean -p "$CSV:pred" -t "$CSV:target" -r mean
    ident_case csv-sum -p "$CSV:pred" -t "$CSV:target" -r sum
    ident_case qcsv-mean -p "$DATA/q.csv:pred" -t "$DATA/q.csv:target" -r mean
    ident_case parquet-mean -p "$DATA/d.parquet:pred" -t "$DATA/d.parquet:target" -r mean
    # The element-wise output must not depend on the thread count either.
    for j in 1 3; do
        "$HUBER" -p "$P" -t "$T" -r none -o "$DATA/ident-j$j.npy" -j "$j"
    done
    if cmp -s "$DATA/ident-j1.npy" "$DATA/ident-j3.npy"; then
        echo "  npy-none: -j1 and -j3 output files identical"
    else
        IDENTITY=FAIL
        IDENTITY_NOTES+=("npy-none: -j1 and -j3 output files differ")
    fi
    rm -f "$DATA/ident-j1.npy" "$DATA/ident-j3.npy"
}

# --------------------------------------------------------------------------
# 6. Report.
# --------------------------------------------------------------------------
fmt_time() { python3 -c "
s = float('$1')
print(f'{s*1e3:.2f} ms' if s < 0.1 else f'{s:.3f} s')"; }
fmt_rss() { python3 -c "print(f'{int(\"$1\") / 1024:.1f} MiB')"; }
count() { python3 -c "
n = int('$1')
print(next((f'{n / d:g}{u}' for d, u in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')) if n >= d), str(n)))"; }
ratio() { python3 -c "print(f'{float(\"$1\") / float(\"$2\"):.2f}')"; }

# row task key [cat-key]
row() {
    local task=$1 key=$2 cat=${3:-}
    [[ -n ${MEDIAN[$key]:-} ]] || return 0
    local x="—"
    [[ -n $cat ]] && x="$(ratio "${MEDIAN[$key]}" "${MEDIAN[$cat]}")×"
    printf '| %s | %s | %s | %s | %s |\n' "$task" "${LABEL[$key]}" \
        "$(fmt_time "${MEDIAN[$key]}")" "$x" "$(fmt_rss "${RSS[$key]}")"
}

CHECKS=()
FAILED=0
check() { # description ok(0/1) detail
    local verdict=PASS
    if [[ $2 != 1 ]]; then verdict=FAIL; FAILED=1; fi
    CHECKS+=("- **$verdict** $1 ($3)")
}
le() { python3 -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)" && echo 1 || echo 0; }

# Informational: how far apart two tools' results are, in ulps of the dtype.
compare_values() { # label f32|f64 key-a key-b
    [[ -n ${VALUE[$3]:-} && -n ${VALUE[$4]:-} ]] || return 0
    python3 - "$1" "$2" "${LABEL[$3]}" ${VALUE[$3]} "${LABEL[$4]}" ${VALUE[$4]} <<'EOF'
import struct, sys
label, dtype, la, a, lb, b = sys.argv[1:7]
f, i, sign = ("<f", "<i", 0x7fffffff) if dtype == "f32" else ("<d", "<q", 0x7fffffffffffffff)
def ordered(x):  # IEEE bits as integers that count ulps across zero
    n = struct.unpack(i, struct.pack(f, float(x)))[0]
    return n if n >= 0 else -(n & sign)
d = abs(ordered(a) - ordered(b))
print(f"  {label}: {la} {a} vs {lb} {b}: " + ("identical" if d == 0 else f"{d} ulp apart") + f" ({dtype})")
EOF
}

# `--by` a text column of 1000 distinct keys over an N_CSV-row CSV, timed alternately against
# the ungrouped mean (target ≤ 1.3 ×) and against DuckDB's GROUP BY of the same loss (target
# ≤ 0.5 ×); peak RSS ≤ 64 MiB. Also the peak RSS of 1 million distinct keys (≤ 256 MiB).
by_main() {
    build_huber
    mkdir -p "$DATA" "$OUT"
    local csv=$DATA/by.csv million=$DATA/by-million.csv py=${PYTHON:-python3}
    [[ -x $PY ]] && py=$PY
    if [[ ! -f $csv || ! -f $million ]]; then
        log "generating the --by CSVs ($N_CSV rows, 1000 keys; 2M rows, 1M keys)"
        "$py" - "$csv" "$million" "$N_CSV" <<'EOF2'
import sys
import numpy as np
import polars as pl

csv, million, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
# Store names, some holding the delimiter and quotes (written quoted).
names = np.array([f"store {i:04d}" if i % 7 else f'Store, {i:04d} "x"' for i in range(1000)])
target = rng.standard_normal(n)
pred = target + rng.standard_normal(n) * 0.5
pl.DataFrame({"store": names[rng.integers(0, 1000, n)], "pred": pred, "target": target}).write_csv(csv)
m = 2_000_000
keys = np.concatenate([np.arange(1_000_000), rng.integers(0, 1_000_000, m - 1_000_000)])
rng.shuffle(keys)
t = rng.standard_normal(m).round(3)
pl.DataFrame({"key": [f"customer-{i:07d}" for i in keys], "pred": (t + rng.standard_normal(m)).round(3),
              "target": t}).write_csv(million)
EOF2
    fi
    local sql="SELECT store, avg(CASE WHEN abs(pred - target) < 1 THEN 0.5 * (pred - target) ^ 2 \
ELSE abs(pred - target) - 0.5 END) AS loss FROM read_csv('$csv') GROUP BY store ORDER BY store"
    bench_def by_mean "huber mean" "$HUBER" -p "$csv:pred" -t "$csv:target"
    bench_def by_by "huber --by store" "$HUBER" -p "$csv:pred" -t "$csv:target" --by "$csv:store"
    bench_def by_duckdb "DuckDB GROUP BY" "$py" -c "import duckdb; duckdb.sql(\"$sql\").fetchall()"
    bench_def by_million "huber --by (1M keys)" "$HUBER" -p "$million:pred" -t "$million:target" \
        --by "$million:key"
    warm_cache "$csv" "$million"
    alternate by_mean by_by
    local mean_s by_s by2_s duck_s
    read -r mean_s by_s <<<"${ALT_PAIR[by_by]}"
    alternate by_by by_duckdb
    read -r by2_s duck_s <<<"${ALT_PAIR[by_duckdb]}"
    local key
    for key in by_by by_million; do measure_rss "$key"; done
    {
        echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $ROUNDS rounds"
        echo
        echo "| A | B | A median | B median | B ÷ A | target |"
        echo "| --- | --- | --- | --- | --- | --- |"
        printf '| %s | %s | %.3f s | %.3f s | %s× | ≤ 1.3 × |\n' "${LABEL[by_mean]}" \
            "${LABEL[by_by]}" "$mean_s" "$by_s" "${ALT[by_by]}"
        printf '| %s | %s | %.3f s | %.3f s | huber ÷ DuckDB %s× | ≤ 0.5 × |\n' \
            "${LABEL[by_duckdb]}" "${LABEL[by_by]}" "$duck_s" "$by2_s" "$(ratio "$by2_s" "$duck_s")"
        echo
        echo "Peak RSS: huber --by store $(fmt_rss "${RSS[by_by]}") (target ≤ 64 MiB);" \
            "1M distinct keys $(fmt_rss "${RSS[by_million]}") (target ≤ 256 MiB)"
    } | tee "$OUT/by.md"
}

main() {
    if [[ ${1:-} == by ]]; then
        [[ -x /usr/bin/time ]] || die "needs GNU time (/usr/bin/time) for peak RSS"
        by_main
        return
    fi
    if [[ ${1:-} == alternate || ${1:-} == top ]]; then
        [[ -x /usr/bin/time ]] || die "needs GNU time (/usr/bin/time) for peak RSS"
        MODE=$1 alternate_main
        return
    fi
    if [[ ${1:-} == axis ]]; then
        [[ -x /usr/bin/time ]] || die "needs GNU time (/usr/bin/time) for peak RSS"
        axis_main
        return
    fi
    if [[ ${1:-} == prepare ]]; then
        # Install, build and generate only: the slow parts that need no quiet machine.
        install_debian_tools
        install_venv
        install_columnar_tools
        build_huber
        generate_data
        generate_quoted
        generate_parquet
        return
    fi
    install_debian_tools
    install_venv
    install_columnar_tools
    build_huber
    generate_data
    generate_quoted
    generate_parquet
    mkdir -p "$OUT"
    write_py_scripts

    local P=$DATA/p.npy T=$DATA/t.npy CSV=$DATA/d.csv QCSV=$DATA/q.csv
    local PQ=$DATA/d.parquet
    local npy_desc csv_desc qcsv_desc pq_desc
    npy_desc="NPY f32 mean, 2 × $(count "$N_NPY")"
    csv_desc="CSV mean, $(count "$N_CSV") rows"
    qcsv_desc="CSV mean, $(count "$N_CSV") rows of id,date,pred,target (quoted text)"
    pq_desc="Parquet f64 mean (zstd, + id column), $(count "$N_PQ") rows"
    local nproc_
    nproc_=$(nproc)

    # (a) NPY mean
    bench_def cat_npy "cat p.npy t.npy" cat "$P" "$T"
    bench_def huber_npy "huber ($nproc_ threads)" "$HUBER" -p "$P" -t "$T"
    bench_def huber_npy_j1 "huber -j1" "$HUBER" -p "$P" -t "$T" -j 1
    # -d auto: the exact median and MAD of the residuals in a few streaming passes.
    bench_def huber_auto "huber -d auto ($nproc_ threads)" "$HUBER" -p "$P" -t "$T" -d auto
    bench_def numpy_npy "numpy" "${PYENV[@]}" "$PY" "$OUT/py/numpy_npy.py" "$P" "$T"
    bench_def torch_npy "PyTorch" "${PYENV[@]}" "$PY" "$OUT/py/torch_npy.py" "$P" "$T"
    # (b) CSV mean
    bench_def cat_csv "cat d.csv" cat "$CSV"
    bench_def huber_csv "huber ($nproc_ threads)" "$HUBER" -p "$CSV:pred" -t "$CSV:target"
    bench_def huber_csv_j1 "huber -j1" "$HUBER" -p "$CSV:pred" -t "$CSV:target" -j 1
    bench_def polars_csv "polars" "${PYENV[@]}" "$PY" "$OUT/py/polars_csv.py" "$CSV"
    local have_pandas=0 have_duckdb=0
    if "$PY" -c 'import pandas' 2>/dev/null; then
        have_pandas=1
        bench_def pandas_csv "pandas" "${PYENV[@]}" "$PY" "$OUT/py/pandas_csv.py" "$CSV"
    fi
    if "$PY" -c 'import duckdb' 2>/dev/null; then
        have_duckdb=1
        bench_def duckdb_csv "DuckDB" "${PYENV[@]}" "$PY" "$OUT/py/duckdb_csv.py" "$CSV"
    fi
    # (b') CSV mean of a file with text columns, one of them quoted
    bench_def cat_qcsv "cat q.csv" cat "$QCSV"
    bench_def huber_qcsv "huber ($nproc_ threads)" "$HUBER" -p "$QCSV:pred" -t "$QCSV:target"
    bench_def huber_qcsv_j1 "huber -j1" "$HUBER" -p "$QCSV:pred" -t "$QCSV:target" -j 1
    bench_def polars_qcsv "polars" "${PYENV[@]}" "$PY" "$OUT/py/polars_csv.py" "$QCSV"
    ((have_duckdb)) && bench_def duckdb_qcsv "DuckDB" "${PYENV[@]}" "$PY" "$OUT/py/duckdb_csv.py" "$QCSV"
    # (b2) Parquet mean: only pred and target are read; the id column is never decoded.
    bench_def cat_pq "cat d.parquet" cat "$PQ"
    bench_def huber_pq "huber ($nproc_ threads)" "$HUBER" -p "$PQ:pred" -t "$PQ:target"
    bench_def huber_pq_j1 "huber -j1" "$HUBER" -p "$PQ:pred" -t "$PQ:target" -j 1
    bench_def polars_pq "polars" "${PYENV[@]}" "$PY" "$OUT/py/polars_parquet.py" "$PQ"
    bench_def duckdb_pq "DuckDB" "${PYENV[@]}" "$PY" "$OUT/py/duckdb_parquet.py" "$PQ"
    # (c) none, NPY → NPY (compared with cat of the same inputs), written as a new file; cp of
    # one input shows what writing that many bytes costs on this disk. Replacing an existing
    # file adds the file system's work of freeing the old one (cp pays it too): its own row.
    bench_def huber_none "huber ($nproc_ threads)" "$HUBER" -p "$P" -t "$T" -r none -o "$DATA/out.npy"
    bench_def huber_none_j1 "huber -j1" "$HUBER" -p "$P" -t "$T" -r none -o "$DATA/out.npy" -j 1
    bench_def cp_new "cp p.npy (a new file)" cp "$P" "$DATA/cp.npy"
    bench_def huber_none_replace "huber, replacing out.npy" "$HUBER" -p "$P" -t "$T" -r none -o "$DATA/out.npy"
    bench_def cp_replace "cp p.npy, replacing a file" cp "$P" "$DATA/cp.npy"
    # (d) startup on 4 elements
    bench_def huber_tiny "huber ($nproc_ threads)" "$HUBER" -p "$DATA/tiny_p.npy" -t "$DATA/tiny_t.npy"
    bench_def huber_tiny_j1 "huber -j1" "$HUBER" -p "$DATA/tiny_p.npy" -t "$DATA/tiny_t.npy" -j 1

    log "versions"
    print_versions | tee "$OUT/versions.txt"

    # Everything is measured with its inputs in the page cache.
    warm_cache "$P" "$T"
    run_hyperfine npy-mean "$RUNS" cat_npy huber_npy huber_npy_j1 huber_auto numpy_npy torch_npy
    warm_cache "$CSV"
    local csv_keys=(cat_csv huber_csv huber_csv_j1 polars_csv)
    ((have_pandas)) && csv_keys+=(pandas_csv)
    ((have_duckdb)) && csv_keys+=(duckdb_csv)
    run_hyperfine csv-mean "$RUNS" "${csv_keys[@]}"
    warm_cache "$QCSV"
    local qcsv_keys=(cat_qcsv huber_qcsv huber_qcsv_j1 polars_qcsv)
    ((have_duckdb)) && qcsv_keys+=(duckdb_qcsv)
    run_hyperfine qcsv-mean "$RUNS" "${qcsv_keys[@]}"
    warm_cache "$PQ"
    run_hyperfine parquet-mean "$RUNS" cat_pq huber_pq huber_pq_j1 polars_pq duckdb_pq
    warm_cache "$P" "$T"
    PREPARE="rm -f $DATA/out.npy $DATA/cp.npy" run_hyperfine npy-none "$RUNS" huber_none huber_none_j1 cp_new
    run_hyperfine npy-none-replace "$RUNS" huber_none_replace cp_replace
    run_hyperfine tiny $((RUNS * 20)) huber_tiny huber_tiny_j1
    alternate_npy "$P" "$T"
    alternate_top "$P" "$T"

    log "peak RSS (/usr/bin/time -v, one run each)"
    local key
    for key in "${ORDER[@]}"; do
        measure_rss "$key"
        printf '  %-28s %8s KiB   %s\n' "${LABEL[$key]} [$key]" "${RSS[$key]}" "${VALUE[$key]}"
    done
    rm -f "$DATA/out.npy" "$DATA/cp.npy"

    log "agreement of results (informational)"
    compare_values "NPY mean" f32 huber_npy torch_npy
    compare_values "NPY mean" f32 huber_npy numpy_npy
    compare_values "CSV mean" f64 huber_csv polars_csv
    compare_values "CSV mean" f64 huber_csv pandas_csv
    compare_values "CSV mean" f64 huber_csv duckdb_csv
    compare_values "quoted CSV mean" f64 huber_qcsv polars_qcsv
    compare_values "Parquet mean" f64 huber_pq polars_pq
    compare_values "Parquet mean" f64 huber_pq duckdb_pq

    check_threads

    # Targets, checked against the default (all cores) huber.
    local r
    r=${ALT[alt_mean]}
    check "NPY f32 mean ≤ 1.0 × cat (timed alternately)" "$(le "$r" 1.0)" "${r}× cat"
    r=${ALT[alt_none]}
    check "none, NPY → NPY ≤ 2 × cat (timed alternately)" "$(le "$r" 2.0)" "${r}× cat"
    r=${ALT[alt_top]}
    check "--top 100 ≤ 1.2 × the plain mean (timed alternately)" "$(le "$r" 1.2)" "${r}× the mean"
    check "NPY f32 mean peak RSS ≤ 16 MiB" "$(le "${RSS[huber_npy]}" $((16 * 1024)))" "$(fmt_rss "${RSS[huber_npy]}")"
    r=$(ratio "${MEDIAN[huber_auto]}" "${MEDIAN[huber_npy]}")
    check "NPY f32 -d auto ≤ 4 × the plain mean, peak RSS ≤ 32 MiB" \
        "$(($(le "$r" 4) && $(le "${RSS[huber_auto]}" $((32 * 1024)))))" \
        "${r}× the mean, $(fmt_rss "${RSS[huber_auto]}")"
    r=$(ratio "${MEDIAN[polars_csv]}" "${MEDIAN[huber_csv]}")
    check "CSV mean ≥ 2 × faster than polars" "$(le 2 "$r")" "${r}× faster"
    check "CSV mean peak RSS ≤ 64 MiB" "$(le "${RSS[huber_csv]}" $((64 * 1024)))" "$(fmt_rss "${RSS[huber_csv]}")"
    if ((have_duckdb)); then
        r=$(ratio "${MEDIAN[huber_csv]}" "${MEDIAN[duckdb_csv]}")
        check "CSV mean ≤ 0.5 × DuckDB's time" "$(le "$r" 0.5)" "${r}× DuckDB"
    fi
    local per_byte
    per_byte=$(python3 -c "
q, d = ${MEDIAN[huber_qcsv]} / $(stat -c %s "$QCSV"), ${MEDIAN[huber_csv]} / $(stat -c %s "$CSV")
print(f'{q / d:.2f}')")
    check "quoted CSV ≤ 1.3 × the numeric file's time per byte" "$(le "$per_byte" 1.3)" "${per_byte}×"
    check "quoted CSV peak RSS ≤ 64 MiB" "$(le "${RSS[huber_qcsv]}" $((64 * 1024)))" "$(fmt_rss "${RSS[huber_qcsv]}")"
    r=$(ratio "${MEDIAN[huber_pq]}" "${MEDIAN[polars_pq]}")
    check "Parquet mean ≤ 0.5 × polars' time" "$(le "$r" 0.5)" "${r}× polars"
    r=$(ratio "${MEDIAN[huber_pq]}" "${MEDIAN[duckdb_pq]}")
    check "Parquet mean ≤ 0.5 × DuckDB's time" "$(le "$r" 0.5)" "${r}× DuckDB"
    check "Parquet mean peak RSS ≤ 64 MiB" "$(le "${RSS[huber_pq]}" $((64 * 1024)))" "$(fmt_rss "${RSS[huber_pq]}")"
    r=$(ratio "${MEDIAN[huber_none]}" "${MEDIAN[cat_npy]}")
    check "none NPY→NPY ≤ 3 × cat, to a new file" "$(le "$r" 3)" "${r}× cat, $(fmt_rss "${RSS[huber_none]}")"
    check "4-element run < 5 ms" "$(le "${MEDIAN[huber_tiny]}" 0.005)" "$(fmt_time "${MEDIAN[huber_tiny]}")"
    local idn=1
    [[ $IDENTITY == PASS ]] || idn=0
    check "bit-identical results for -j1, -j2, -j3, -j8" "$idn" \
        "${IDENTITY_NOTES[*]:-mean and sum of NPY and CSV, mean of quoted CSV, none to NPY}"

    {
        echo "## Performance"
        echo
        echo "Machine: $nproc_ cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
            "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM," \
            "Linux $(uname -r). huber $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
            "$(head -1 "$OUT/versions.txt"), $(hyperfine --version)."
        echo "Medians of $RUNS runs (startup: $((RUNS * 20))) with the files in the page cache;" \
            "peak RSS from \`/usr/bin/time -v\`, one run. Python tools include interpreter start and imports."
        [[ $SCALE == 1 ]] ||
            echo "**SCALE=$SCALE: reduced data, not comparable with the targets.**"
        echo
        echo "| task | tool | median time | × cat | peak RSS |"
        echo "| --- | --- | --- | --- | --- |"
        row "$npy_desc" cat_npy cat_npy
        row "$npy_desc" huber_npy cat_npy
        row "$npy_desc" huber_npy_j1 cat_npy
        row "$npy_desc" numpy_npy cat_npy
        row "$npy_desc" torch_npy cat_npy
        row "NPY f32 mean -d auto, 2 × $(count "$N_NPY")" huber_auto cat_npy
        row "$csv_desc" cat_csv cat_csv
        row "$csv_desc" huber_csv cat_csv
        row "$csv_desc" huber_csv_j1 cat_csv
        row "$csv_desc" polars_csv cat_csv
        row "$csv_desc" pandas_csv cat_csv
        row "$csv_desc" duckdb_csv cat_csv
        row "$qcsv_desc" cat_qcsv cat_qcsv
        row "$qcsv_desc" huber_qcsv cat_qcsv
        row "$qcsv_desc" huber_qcsv_j1 cat_qcsv
        row "$qcsv_desc" polars_qcsv cat_qcsv
        row "$qcsv_desc" duckdb_qcsv cat_qcsv
        row "$pq_desc" cat_pq cat_pq
        row "$pq_desc" huber_pq cat_pq
        row "$pq_desc" huber_pq_j1 cat_pq
        row "$pq_desc" polars_pq cat_pq
        row "$pq_desc" duckdb_pq cat_pq
        row "none, NPY → NPY, 2 × $(count "$N_NPY")" huber_none cat_npy
        row "none, NPY → NPY, 2 × $(count "$N_NPY")" huber_none_j1 cat_npy
        row "none, NPY → NPY, 2 × $(count "$N_NPY")" cp_new cat_npy
        row "none, NPY → NPY, 2 × $(count "$N_NPY")" huber_none_replace cat_npy
        row "none, NPY → NPY, 2 × $(count "$N_NPY")" cp_replace cat_npy
        row "4-element startup" huber_tiny
        row "4-element startup" huber_tiny_j1
        echo
        echo "Timed alternately, $ROUNDS rounds (CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores):"
        echo
        printf '%s\n' "${ALT_ROWS[@]}"
        echo
        echo "Targets:"
        echo
        printf '%s\n' "${CHECKS[@]}"
    } >"$RESULTS"

    log "results (also in ${RESULTS#"$ROOT"/})"
    cat "$RESULTS"
    if ((FAILED)) && [[ $STRICT == 1 ]]; then exit 1; fi
}

main "$@"
